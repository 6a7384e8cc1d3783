// src/workspace.hpp: what a call to encode() computes in (the forward pass's scratch, its
// threads, one pass's share of the batch), and the pool of idle ones that calls made without a
// minilm::workspace (encode_options::scratch) borrow from.
//
// fork() is allowed at any time: a workspace made before it works in the child (its threads
// are started again there), and a child never inherits the pool's lock taken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "bert.hpp"
#include "minilm/tokenizer.hpp"
#include "thread_pool.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

struct workspace_state {
  forward_scratch scratch;
  packed_batch pass;  // one forward pass's sequences, offsets from 0

  workspace_state() = default;
  workspace_state(const workspace_state&) = delete;
  workspace_state& operator=(const workspace_state&) = delete;
  ~workspace_state() { drop_threads_of_parent(); }

  // The pool of n threads, started on first use and kept for later calls.
  thread_pool& pool(std::size_t n);

 private:
  // After a fork the pool's threads are the parent's: its memory is left as it is (joining them
  // would wait forever).
  void drop_threads_of_parent() noexcept;

  std::unique_ptr<thread_pool> threads_;
  std::uint64_t threads_generation_ = 0;  // how many forks had happened when the threads started
};

// The workspaces of calls made without one: a call takes an idle one (or makes one) and gives it
// back when it returns, so that threads and scratch are made once, not per call. Calls that run
// at the same time each have their own; at most max_idle are kept between calls. (One lock for
// every encoder's idle list: it is held for a push or a pop.)
class workspace_pool {
 public:
  workspace_pool();

  std::unique_ptr<workspace_state> take();
  void give_back(std::unique_ptr<workspace_state> ws) noexcept;

 private:
  std::size_t max_idle_;
  std::vector<std::unique_ptr<workspace_state>> idle_;
};

// The workspace one call computes in: the caller's (encode_options::scratch), or else an idle one
// of the pool's, given back when the call returns.
class call_workspace {
 public:
  call_workspace(workspace_pool& pool, workspace_state* callers)
      : pool_(pool), borrowed_(callers ? nullptr : pool.take()), ws_(callers ? *callers : *borrowed_) {}
  ~call_workspace() {
    if (borrowed_) pool_.give_back(std::move(borrowed_));
  }
  call_workspace(const call_workspace&) = delete;
  call_workspace& operator=(const call_workspace&) = delete;
  workspace_state& operator*() const noexcept { return ws_; }

 private:
  workspace_pool& pool_;
  std::unique_ptr<workspace_state> borrowed_;
  workspace_state& ws_;
};

}  // namespace detail
MINILM_END_NAMESPACE
