// memory_delay_heap.hpp -- delayed messages of one memory queue, waiting
// OUTSIDE the ready list until they are due (QPLUG_CAP_DELAY).
//
// A min-heap on (due time, arrival number): the earliest due message is on
// top, and two messages due at the same millisecond leave in publish order.
// Waiting messages hold no consumer's prefetch slot and do not stand in front
// of immediate messages: the dispatcher moves the due ones into the ready
// list each time it grabs, and sleeps no longer than until the next is due.
// Times are steady-clock milliseconds (the driver lives in one process, so a
// wall-clock jump never makes a message early or late).
// Single-threaded: guarded by the queue's dispatcher lock.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qplug::memory {

template <class Node>
class DelayHeap {
 public:
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // Due time of the earliest message; only when !empty().
  int64_t next_due_ms() const { return heap_.front().due_ms; }

  // Makes room for k more pushes, so that push() cannot fail afterwards
  // (a publish reserves before it admits anything). Throws bad_alloc.
  void reserve_more(size_t k) { heap_.reserve(heap_.size() + k); }

  // Adds a message due at `due_ms`. Never throws after reserve_more().
  void push(int64_t due_ms, Node* n) {
    heap_.push_back(Entry{due_ms, seq_++, n});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }

  // Calls take(node) for every message due at or before now_ms, earliest
  // first; returns how many.
  template <class Take>
  size_t pop_due(int64_t now_ms, Take take) {
    size_t k = 0;
    while (!heap_.empty() && heap_.front().due_ms <= now_ms) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      Node* n = heap_.back().node;
      heap_.pop_back();
      take(n);
      ++k;
    }
    return k;
  }

  // Calls take(node) for every message, due or not (for close).
  template <class Take>
  void drain(Take take) {
    for (const Entry& e : heap_) take(e.node);
    heap_.clear();
  }

 private:
  struct Entry {
    int64_t due_ms;
    uint64_t seq;
    Node* node;
  };
  struct Later {  // std heaps are max-heaps: "later" as the order puts the earliest on top
    bool operator()(const Entry& a, const Entry& b) const {
      return a.due_ms != b.due_ms ? a.due_ms > b.due_ms : a.seq > b.seq;
    }
  };
  std::vector<Entry> heap_;
  uint64_t seq_ = 0;
};

}  // namespace qplug::memory
