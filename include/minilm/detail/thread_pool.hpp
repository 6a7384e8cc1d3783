// minilm/detail/thread_pool.hpp: a fixed set of threads that run one parallel loop at a time.
//
// The calling thread takes part, so a pool of size 1 starts no thread at all. Tasks are
// handed out from an atomic counter; which thread runs a task never changes what the task
// computes (every task writes its own slice of the output), so results do not depend on the
// number of threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "../version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

class thread_pool {
 public:
  // task(index, thread) runs for every index in [0, n_tasks); thread is in [0, size()).
  using task_fn = std::function<void(std::size_t index, std::size_t thread)>;

  explicit thread_pool(std::size_t n_threads) {
    if (n_threads == 0) n_threads = 1;
    workers_.reserve(n_threads - 1);
    for (std::size_t t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { work(t); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  std::size_t size() const noexcept { return workers_.size() + 1; }

  // Runs every task, on this thread and the workers, and returns when all are done. The
  // first exception a task throws is rethrown here (the remaining tasks still run).
  void run(std::size_t n_tasks, const task_fn& task) {
    if (n_tasks == 0) return;
    if (workers_.empty() || n_tasks == 1) {
      for (std::size_t i = 0; i < n_tasks; ++i) task(i, 0);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      task_ = &task;
      n_tasks_ = n_tasks;
      next_.store(0);
      n_busy_ = workers_.size();
      ++generation_;
    }
    wake_.notify_all();
    drain(0);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return n_busy_ == 0; });
    task_ = nullptr;
    if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  }

 private:
  void drain(std::size_t thread) {
    for (std::size_t i = next_.fetch_add(1); i < n_tasks_; i = next_.fetch_add(1)) {
      try {
        (*task_)(i, thread);
      } catch (...) {
        std::lock_guard lock(mutex_);
        if (!failure_) failure_ = std::current_exception();
      }
    }
  }

  void work(std::size_t thread) {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      drain(thread);
      {
        std::lock_guard lock(mutex_);
        if (--n_busy_ == 0) done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const task_fn* task_ = nullptr;
  std::size_t n_tasks_ = 0;
  std::atomic<std::size_t> next_{0};
  std::size_t n_busy_ = 0;
  std::size_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr failure_;
};

}  // namespace detail
MINILM_END_NAMESPACE
