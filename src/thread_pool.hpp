// src/thread_pool.hpp: a fixed set of threads that run one parallel loop at a time.
//
// The calling thread takes part, so a pool of size 1 starts no thread at all. Tasks are
// handed out from an atomic counter; which thread runs a task never changes what the task
// computes (every task writes its own slice of the output), so results do not depend on the
// number of threads.
//
// A forward pass runs some sixty short loops back to back (about 50 us each for one query), so
// waking a sleeping thread for each would cost as much as the work: between loops the workers
// poll for the next one, briefly with pause, then yielding the processor between polls (another
// process may need it), for up to spin_time before they sleep on a condition variable; the
// caller polls the same way while the workers finish their last tasks. Without the yields, two
// processes running 2-thread pools on 2 cores took 19 ms per query instead of 7.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

class thread_pool {
 public:
  // task(index, thread) runs for every index in [0, n_tasks); thread is in [0, size()).
  using task_fn = std::function<void(std::size_t index, std::size_t thread)>;

  // How long an idle worker polls for the next loop before it goes to sleep.
  static constexpr std::chrono::microseconds spin_time{200};

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
      stop_.store(true, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
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
    task_ = &task;
    n_tasks_ = n_tasks;
    next_.store(0, std::memory_order_relaxed);
    n_busy_.store(workers_.size(), std::memory_order_relaxed);
    {
      // Under the mutex, so that a worker deciding to sleep either sees the new generation or
      // is already waiting when notified.
      std::lock_guard lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    if (n_sleeping_.load(std::memory_order_relaxed) != 0) wake_.notify_all();
    drain(0);
    for (std::uint32_t spins = 0; n_busy_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < 256) {
        pause();
      } else {
        std::this_thread::yield();  // a worker is still in its last task, or not running
      }
    }
    task_ = nullptr;
    if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  }

 private:
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }

  void drain(std::size_t thread) {
    for (std::size_t i = next_.fetch_add(1, std::memory_order_relaxed); i < n_tasks_;
         i = next_.fetch_add(1, std::memory_order_relaxed)) {
      try {
        (*task_)(i, thread);
      } catch (...) {
        std::lock_guard lock(mutex_);
        if (!failure_) failure_ = std::current_exception();
      }
    }
  }

  // Waits for a generation other than seen and returns it: polls for spin_time, yielding the
  // processor between polls after the first few (another process may want it), then sleeps.
  std::uint64_t await(std::uint64_t seen) {
    const auto give_up = std::chrono::steady_clock::now() + spin_time;
    for (std::uint32_t spins = 1;; ++spins) {
      const std::uint64_t g = generation_.load(std::memory_order_acquire);
      if (g != seen) return g;
      if (spins < 256) {
        pause();
      } else {
        std::this_thread::yield();
        if (std::chrono::steady_clock::now() > give_up) break;
      }
    }
    std::unique_lock lock(mutex_);
    n_sleeping_.fetch_add(1, std::memory_order_relaxed);
    wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    n_sleeping_.fetch_sub(1, std::memory_order_relaxed);
    return generation_.load(std::memory_order_acquire);
  }

  void work(std::size_t thread) {
    std::uint64_t seen = 0;
    for (;;) {
      seen = await(seen);
      if (stop_.load(std::memory_order_relaxed)) return;
      drain(thread);
      n_busy_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // Memory ordering (what a weakly ordered processor such as ARM relies on; x86 would forgive
  // weaker choices). A loop's inputs (task_, n_tasks_, next_ = 0, n_busy_) are written before the
  // release increment of generation_, which a worker reads with acquire before drain(): so it sees
  // them. A task's writes, and failure_, come before its thread's acq_rel decrement of n_busy_,
  // which the caller reads with acquire before it returns: so the caller sees every result, and
  // writes the next loop's inputs only after every worker is done with this one's. next_ is only
  // a counter (relaxed); stop_ is written before the destructor's release of generation_, and
  // n_sleeping_ only under the mutex, which orders it with the caller's check.
  const task_fn* task_ = nullptr;
  std::size_t n_tasks_ = 0;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> n_busy_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::size_t> n_sleeping_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr failure_;
};

}  // namespace detail
MINILM_END_NAMESPACE
