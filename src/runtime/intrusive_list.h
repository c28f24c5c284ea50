// IntrusiveList: a doubly linked list through links its elements carry, for objects that are
// on a list for their lifetime and leave it in constant time (a reactor's orphans, a worker's
// connections and origin requests). It owns nothing; one thread uses it.
#pragma once

namespace stavka::runtime {

template <typename T>
struct ListLink {
  T* prev = nullptr;
  T* next = nullptr;
};

// L names the element's link: IntrusiveList<Conn, &Conn::link>.
template <typename T, ListLink<T> T::*L>
class IntrusiveList {
 public:
  void push_front(T* x) {
    ListLink<T>& l = x->*L;
    l.prev = nullptr;
    l.next = head_;
    if (head_) (head_->*L).prev = x;
    head_ = x;
  }
  void erase(T* x) {
    ListLink<T>& l = x->*L;
    if (l.prev) (l.prev->*L).next = l.next;
    else head_ = l.next;
    if (l.next) (l.next->*L).prev = l.prev;
    l.prev = l.next = nullptr;
  }
  T* front() const { return head_; }
  // f(element) for each; f must not erase any element but the one it is given.
  template <typename F>
  void for_each(F f) const {
    for (T* x = head_; x;) {
      T* next = (x->*L).next;
      f(x);
      x = next;
    }
  }

 private:
  T* head_ = nullptr;
};

}  // namespace stavka::runtime
