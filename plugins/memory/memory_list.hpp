// memory_list.hpp -- the intrusive FIFO the memory driver moves messages in.
//
// A node type with a `Node* next` member is linked through it; the list owns
// no memory and allocates nothing, so moving a batch between the ready list,
// a dispatcher's batch and the settled chain is a few pointer writes.
// Single-threaded: every list is guarded by the lock of the struct holding it.
#pragma once

#include <cstddef>

namespace qplug::memory {

template <class Node>
struct IntrusiveList {
  Node* head = nullptr;
  Node* tail = nullptr;
  size_t size = 0;

  void push_back(Node* n) {
    n->next = nullptr;
    if (tail != nullptr)
      tail->next = n;
    else
      head = n;
    tail = n;
    ++size;
  }
  // Moves all of `front` before the current head, keeping its order.
  void splice_front(IntrusiveList& front) {
    if (front.head == nullptr) return;
    front.tail->next = head;
    if (tail == nullptr) tail = front.tail;
    head = front.head;
    size += front.size;
    front = IntrusiveList{};
  }
  // Moves all of `back` after the current tail, keeping its order.
  void splice_back(IntrusiveList& back) {
    if (back.head == nullptr) return;
    if (tail != nullptr)
      tail->next = back.head;
    else
      head = back.head;
    tail = back.tail;
    size += back.size;
    back = IntrusiveList{};
  }
  // Detaches up to k nodes from the front, in order.
  IntrusiveList take_front(size_t k) {
    IntrusiveList out;
    if (k >= size) {  // the whole list: no walk
      out = *this;
      *this = IntrusiveList{};
      if (out.tail != nullptr) out.tail->next = nullptr;  // callers walk a batch to its null link
      return out;
    }
    while (k-- > 0 && head != nullptr) {
      Node* n = head;
      head = n->next;
      out.push_back(n);
      --size;
    }
    if (head == nullptr) tail = nullptr;
    return out;
  }
};

}  // namespace qplug::memory
