// memory_ready_list.hpp -- the ready messages of one memory queue, handed out
// highest priority first and FIFO within a priority (QPLUG_CAP_PRIORITY).
//
// One intrusive FIFO per priority level (0..9) and a bit mask of the levels
// that hold anything, so taking a batch costs one bit scan per level it
// touches. A queue whose messages carry no `priority` header uses level 5
// only: the fast path is one list, as before priorities existed.
// A node type needs `Node* next` and `uint8_t priority` (0..9).
// Single-threaded: guarded by the queue's dispatcher lock.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <qplug/sdk/parse.hpp>

#include "memory_list.hpp"

namespace qplug::memory {

template <class Node>
class PriorityReadyList {
 public:
  using List = IntrusiveList<Node>;
  static constexpr int kLevels = sdk::kMaxPriority + 1;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Appends `fresh` (oldest first) behind the messages of their levels.
  // `levels` is the OR of (1 << priority) over fresh's nodes: one level (the
  // usual case) splices the whole list at once.
  void append(List& fresh, uint32_t levels) {
    if (fresh.head == nullptr) return;
    size_ += fresh.size;
    if (std::has_single_bit(levels)) {
      level_[std::countr_zero(levels)].splice_back(fresh);
      mask_ |= levels;
      return;
    }
    for (Node* n = fresh.head; n != nullptr;) {
      Node* next = n->next;
      level_[n->priority].push_back(n);
      mask_ |= 1u << n->priority;
      n = next;
    }
    fresh = List{};
  }

  // Puts `back` (in order) before the messages of their levels: a requeued
  // message is next among its priority, never ahead of a higher one.
  void prepend(List& back) {
    if (back.head == nullptr) return;
    size_ += back.size;
    List per_level[kLevels];
    for (Node* n = back.head; n != nullptr;) {
      Node* next = n->next;
      per_level[n->priority].push_back(n);
      n = next;
    }
    for (int p = 0; p < kLevels; ++p) {
      if (per_level[p].head == nullptr) continue;
      level_[p].splice_front(per_level[p]);
      mask_ |= 1u << p;
    }
    back = List{};
  }

  // Detaches up to k nodes, highest priority first, FIFO within a level.
  List take_front(size_t k) {
    List out;
    while (k > out.size && mask_ != 0) {
      const int p = 31 - std::countl_zero(mask_);
      List part = level_[p].take_front(k - out.size);
      if (level_[p].head == nullptr) mask_ &= ~(1u << p);
      out.splice_back(part);
    }
    size_ -= out.size;
    return out;
  }

  // Detaches everything (for close), highest priority first.
  List take_all() { return take_front(size_); }

 private:
  List level_[kLevels];
  uint32_t mask_ = 0;  // bit p set iff level_[p] is non-empty
  size_t size_ = 0;
};

}  // namespace qplug::memory
