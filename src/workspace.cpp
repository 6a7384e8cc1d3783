// The workspaces, the pool of idle ones, and what fork() must not break.

#include "workspace.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

#include "minilm/encoder.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

// What fork() must not break. A pool's threads exist only in the process that started them: a
// pool made before a fork (a model used in a Gunicorn --preload master, say) is dead in the
// child, which must neither wait for its threads nor join them; so forks are counted. And the
// lock of the encoders' idle workspaces is held across fork(), so that a child never inherits
// it taken by another thread of the parent.
struct fork_safety {
  std::mutex idle_workspaces;
  std::atomic<std::uint64_t> forks{0};  // since this process (or an ancestor) first used it

  static fork_safety& get() {
    static fork_safety f;
    return f;
  }

 private:
  fork_safety() {
#if defined(__unix__) || defined(__APPLE__)
    ::pthread_atfork([] { get().idle_workspaces.lock(); }, [] { get().idle_workspaces.unlock(); },
                     [] {
                       get().forks.fetch_add(1, std::memory_order_relaxed);
                       get().idle_workspaces.unlock();
                     });
#endif
  }
};

std::uint64_t fork_generation() { return fork_safety::get().forks.load(std::memory_order_relaxed); }

}  // namespace

thread_pool& workspace_state::pool(std::size_t n) {
  drop_threads_of_parent();
  if (!threads_ || threads_->size() != n) {
    threads_generation_ = fork_generation();
    threads_.reset();
    threads_ = std::make_unique<thread_pool>(n);
  }
  return *threads_;
}

void workspace_state::drop_threads_of_parent() noexcept {
  if (threads_ && threads_generation_ != fork_generation()) (void)threads_.release();
}

workspace_pool::workspace_pool() : max_idle_(std::max(2u, std::thread::hardware_concurrency())) {
  idle_.reserve(max_idle_);  // give_back() never allocates
}

std::unique_ptr<workspace_state> workspace_pool::take() {
  {
    std::lock_guard lock(fork_safety::get().idle_workspaces);
    if (!idle_.empty()) {
      std::unique_ptr<workspace_state> ws = std::move(idle_.back());
      idle_.pop_back();
      return ws;
    }
  }
  return std::make_unique<workspace_state>();
}

void workspace_pool::give_back(std::unique_ptr<workspace_state> ws) noexcept {
  std::unique_lock lock(fork_safety::get().idle_workspaces);
  if (idle_.size() < max_idle_) {
    idle_.push_back(std::move(ws));
  } else {
    lock.unlock();
    ws.reset();  // its threads are joined outside the lock
  }
}

}  // namespace detail

workspace::workspace() : state_(std::make_unique<detail::workspace_state>()) {}
workspace::~workspace() = default;
workspace::workspace(workspace&&) noexcept = default;
workspace& workspace::operator=(workspace&&) noexcept = default;

MINILM_END_NAMESPACE
