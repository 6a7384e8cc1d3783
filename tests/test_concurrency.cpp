// One model, many threads: an encoder and a tokenizer are immutable after load, so 16 threads
// encoding at once through the same object get exactly (bitwise) what one thread gets
// encoding the same texts one after another; and calls without a workspace reuse the
// encoder's threads instead of starting new ones. Run under ThreadSanitizer by
// tools/ci/sanitize.sh.
#include <doctest/doctest.h>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <tlhelp32.h>
#endif

#include <atomic>
#include <barrier>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <minilm/encoder.hpp>
#include <minilm/tokenizer.hpp>

#include "support.hpp"

namespace {

constexpr std::size_t n_threads = 16;

// Texts of different lengths, so that threads are in different places at the same time.
std::vector<std::string> texts_for(std::size_t thread) {
  const std::string words[] = {"A man is eating food.", "The quick brown fox jumps over the lazy dog", "中文 café",
                               "Sentence embeddings on the CPU", "", "Hello, world!"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < 3; ++i) {
    std::string t;
    for (std::size_t k = 0; k <= (thread + i) % 4; ++k) t += words[(thread + i + k) % std::size(words)] + " ";
    out.push_back(t + std::to_string(thread));
  }
  return out;
}

bool same_bits(const minilm::embeddings& a, const minilm::embeddings& b) {
  return a.dimension == b.dimension && a.values.size() == b.values.size() &&
         std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

// The ids of this process's threads, from /proc/self/task (on Windows, a snapshot of the
// system's threads).
std::set<std::string> thread_ids() {
  std::set<std::string> ids;
#if defined(_WIN32)
  const HANDLE snapshot = ::CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
  REQUIRE(snapshot != INVALID_HANDLE_VALUE);
  THREADENTRY32 entry{};
  entry.dwSize = sizeof(entry);
  for (BOOL more = ::Thread32First(snapshot, &entry); more; more = ::Thread32Next(snapshot, &entry)) {
    if (entry.th32OwnerProcessID == ::GetCurrentProcessId()) ids.insert(std::to_string(entry.th32ThreadID));
  }
  ::CloseHandle(snapshot);
#else
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ids.insert(e.path().filename().string());
#endif
  return ids;
}

// Every thread id seen while it runs, polling /proc/self/task as fast as it can: a thread that
// lives for a whole encode call cannot slip through.
class thread_watch {
 public:
  thread_watch() : poller_([this] { poll(); }) {}
  ~thread_watch() {
    stop_ = true;
    poller_.join();
  }
  std::set<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  void reset() {
    std::lock_guard lock(mutex_);
    seen_.clear();
    polls_ = 0;
  }
  // Returns once the poller has looked at least `n` times since the last reset.
  void wait_for_polls(int n) {
    while (polls_.load() < n) std::this_thread::yield();
  }

 private:
  void poll() {
    while (!stop_.load()) {
      const std::set<std::string> now = thread_ids();
      std::lock_guard lock(mutex_);
      seen_.insert(now.begin(), now.end());
      ++polls_;
    }
  }
  std::mutex mutex_;
  std::set<std::string> seen_;
  std::atomic<int> polls_{0};
  std::atomic<bool> stop_{false};
  std::thread poller_;  // last: started once the members it uses exist
};

// Threads that are joined when the group goes out of scope (std::jthread without stop tokens,
// which libc++ 14 lacks).
class thread_group {
 public:
  template <class F>
  void emplace_back(F&& f) {
    threads_.emplace_back(std::forward<F>(f));
  }
  ~thread_group() {
    for (auto& t : threads_) t.join();
  }

 private:
  std::vector<std::thread> threads_;
};

}  // namespace

TEST_CASE("calls without a workspace reuse the encoder's threads: the second call starts none") {
  minilm::encoder_options options;
  options.n_threads = 2;
  const auto model = minilm::encoder::load(test_support::model_dir(), options);
  const std::vector<std::string> texts = texts_for(0);
  const std::vector<std::string_view> views(texts.begin(), texts.end());
  const std::vector<std::int32_t> ids = {101, 7592, 2088, 102};
  const std::vector<std::size_t> offsets = {0, 4};
  std::vector<float> out(texts.size() * model.dimension());

  thread_watch watch;
  const std::set<std::string> before = thread_ids();
  const std::vector<float> first = model.encode_one(texts[0]);
  const std::set<std::string> after_first = thread_ids();
  // The first call started the encoder's one worker (the caller is the other thread) and kept it.
  CHECK(after_first.size() == before.size() + 1);

  watch.reset();
  watch.wait_for_polls(1);
  CHECK(model.encode_one(texts[0]) == first);
  model.encode(texts);
  model.encode(views, out);
  model.encode_ids(ids, offsets);
  watch.wait_for_polls(2);
  // Every thread seen during the later calls was there after the first.
  const std::set<std::string> seen = watch.seen();
  CHECK(seen == after_first);
  CHECK(thread_ids() == after_first);
}

TEST_CASE("16 threads sharing one encoder get the serial results, bit for bit") {
  const auto model = minilm::encoder::load(test_support::model_dir());

  std::vector<std::vector<std::string>> texts(n_threads);
  std::vector<minilm::embeddings> serial(n_threads);
  for (std::size_t t = 0; t < n_threads; ++t) {
    texts[t] = texts_for(t);
    serial[t] = model.encode(texts[t]);
  }

  std::vector<minilm::embeddings> parallel(n_threads), parallel_ws(n_threads);
  std::vector<std::vector<float>> singles(n_threads);
  std::barrier start(static_cast<std::ptrdiff_t>(n_threads));
  {
    thread_group threads;
    for (std::size_t t = 0; t < n_threads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();  // all at once
        parallel[t] = model.encode(texts[t]);
        minilm::workspace ws;  // a thread's own scratch, reused across its calls
        std::vector<std::string_view> views(texts[t].begin(), texts[t].end());
        parallel_ws[t] = model.encode(views, {.scratch = &ws});
        parallel_ws[t] = model.encode(views, {.scratch = &ws});
        singles[t] = model.encode_one(texts[t][0]);
      });
    }
  }
  for (std::size_t t = 0; t < n_threads; ++t) {
    CAPTURE(t);
    CHECK(serial[t].size() == 3);
    CHECK(same_bits(parallel[t], serial[t]));
    CHECK(same_bits(parallel_ws[t], serial[t]));
    CHECK(std::memcmp(singles[t].data(), serial[t][0].data(), serial[t].dimension * sizeof(float)) == 0);
  }
}

TEST_CASE("16 threads sharing one multi-threaded encoder get the serial results, bit for bit") {
  minilm::encoder_options options;
  options.n_threads = 2;
  const auto model = minilm::encoder::load(test_support::model_dir(), options);
  std::vector<std::vector<std::string>> texts(n_threads);
  std::vector<minilm::embeddings> serial(n_threads), parallel(n_threads);
  for (std::size_t t = 0; t < n_threads; ++t) {
    texts[t] = texts_for(t);
    serial[t] = model.encode(texts[t]);
  }
  std::barrier start(static_cast<std::ptrdiff_t>(n_threads));
  {
    thread_group threads;
    for (std::size_t t = 0; t < n_threads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        parallel[t] = model.encode(texts[t]);
      });
    }
  }
  for (std::size_t t = 0; t < n_threads; ++t) {
    CAPTURE(t);
    CHECK(same_bits(parallel[t], serial[t]));
  }
}

TEST_CASE("16 threads sharing one tokenizer get the serial results") {
  const auto tok = minilm::tokenizer::load(minilm::read_model_folder(test_support::model_dir()));
  std::vector<std::vector<std::string>> texts(n_threads);
  std::vector<minilm::packed_batch> serial(n_threads), parallel(n_threads);
  for (std::size_t t = 0; t < n_threads; ++t) {
    texts[t] = texts_for(t);
    const std::vector<std::string_view> views(texts[t].begin(), texts[t].end());
    serial[t] = tok.encode_batch(views);
  }
  std::barrier start(static_cast<std::ptrdiff_t>(n_threads));
  {
    thread_group threads;
    for (std::size_t t = 0; t < n_threads; ++t) {
      threads.emplace_back([&, t] {
        const std::vector<std::string_view> views(texts[t].begin(), texts[t].end());
        start.arrive_and_wait();
        for (int round = 0; round < 20; ++round) parallel[t] = tok.encode_batch(views);
      });
    }
  }
  for (std::size_t t = 0; t < n_threads; ++t) {
    CAPTURE(t);
    CHECK(parallel[t].ids == serial[t].ids);
    CHECK(parallel[t].offsets == serial[t].offsets);
  }
}
