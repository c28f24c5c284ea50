// Fill: see fill.h. The lock protects every member below `mutex_`; waiters are collected under
// it and woken after it is released, each on its own reactor.
#include "cache/fill.h"

#include <algorithm>
#include <cstring>

namespace stavka::cache {

namespace {
constexpr uint32_t first_open_capacity = 16 * 1024;
}

// Suspends a reader until the writer calls wake_all_locked() or the optional timeout passes.
// The check and the registration happen under the lock, so a wake between them is not lost.
class Fill::WaitAwaiter {
 public:
  WaitAwaiter(Fill& fill, uint64_t offset, bool for_head,
              runtime::Clock::duration timeout = runtime::Clock::duration::zero())
      : fill_(fill), offset_(offset), for_head_(for_head), timeout_(timeout) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    std::lock_guard lock(fill_.mutex_);
    bool ready = for_head_ ? (fill_.state_ != FillState::head_pending || fill_.ended_)
                           : (fill_.ended_ || fill_.received_ > offset_);
    if (ready) return false;
    slot_ = std::make_shared<WaitSlot>();
    slot_->reactor = &runtime::Reactor::current();
    slot_->handle = h;
    if (timeout_ > runtime::Clock::duration::zero()) {
      slot_->timer.deadline = slot_->reactor->now() + timeout_;
      slot_->timer.fire = [](runtime::Timer* t) {
        auto* slot = reinterpret_cast<WaitSlot*>(t);
        if (slot->resumed) return;
        slot->resumed = true;
        slot->handle.resume();
      };
      slot_->reactor->add_timer(&slot_->timer);
    }
    fill_.waiters_.push_back(slot_);
    return true;
  }
  void await_resume() const noexcept {}

 private:
  Fill& fill_;
  uint64_t offset_;
  bool for_head_;
  runtime::Clock::duration timeout_;
  std::shared_ptr<WaitSlot> slot_;
};

Fill::Fill(std::string primary_key, uint32_t block_size, uint64_t start)
    : primary_key_(std::move(primary_key)), block_size_(block_size), start_(start) {}

void Fill::want(uint64_t end) {
  std::lock_guard lock(mutex_);
  end = std::min(end, want_cap_);
  if (want_end_ == UINT64_MAX || end > want_end_) want_end_ = end;
}

void Fill::cap_want(uint64_t end) {
  std::lock_guard lock(mutex_);
  want_cap_ = end;
  want_end_ = std::min(want_end_, end);
}

uint64_t Fill::want_cap() const {
  std::lock_guard lock(mutex_);
  return want_cap_;
}

uint64_t Fill::want_end() const {
  std::lock_guard lock(mutex_);
  return want_end_;
}

void Fill::note_read(uint64_t end) {
  std::lock_guard lock(mutex_);
  furthest_read_ = std::max(furthest_read_, end);
}

uint64_t Fill::furthest_read() const {
  std::lock_guard lock(mutex_);
  return furthest_read_;
}

void Fill::note_asked(uint64_t end) {
  std::lock_guard lock(mutex_);
  asked_end_ = std::max(asked_end_, end);
}

uint64_t Fill::asked_end() const {
  std::lock_guard lock(mutex_);
  return asked_end_;
}

bool Fill::will_have(uint64_t offset) const {
  std::lock_guard lock(mutex_);
  if (offset < start_) return false;
  const uint64_t base = head_ ? head_->base : start_;
  switch (state_) {
    case FillState::head_pending:
      return !ended_ && offset < want_end_;
    case FillState::streaming:
    case FillState::complete:
      return offset < base + received_ || (!ended_ && offset < want_end_);
    default:
      return false;
  }
}

void Fill::release_sealed(uint32_t index) {
  std::lock_guard lock(mutex_);
  for (uint32_t i = 0; i < index && i < sealed_.size(); ++i) sealed_[i].reset();
}

void Fill::wake_all_locked(std::vector<Waiter>* out) { out->swap(waiters_); }

void Fill::wake(std::vector<Waiter>& waiters) {
  for (Waiter& slot : waiters) {
    runtime::Reactor* reactor = slot->reactor;
    reactor->post([slot = std::move(slot)] {
      if (slot->resumed) return;  // the timeout came first
      slot->resumed = true;
      slot->reactor->remove_timer(&slot->timer);
      slot->handle.resume();
    });
  }
}

void Fill::set_head(std::shared_ptr<const FillHead> head, bool shared) {
  std::vector<Waiter> woken;
  {
    std::lock_guard lock(mutex_);
    head_ = std::move(head);
    state_ = shared ? FillState::streaming : FillState::not_shared;
    wake_all_locked(&woken);
  }
  wake(woken);
}

void Fill::seal_open_block(std::vector<std::pair<uint32_t, storage::BlockRef>>* sealed_out) {
  auto block = std::make_shared<storage::Block>();
  block->data = storage::allocate_block_bytes(open_size_);
  std::memcpy(block->data.get(), open_.get(), open_size_);
  block->size = open_size_;
  block->crc = storage::crc32c(block->data.get(), block->size);
  uint32_t index = static_cast<uint32_t>(sealed_.size());
  sealed_.push_back(block);
  if (sealed_out) sealed_out->emplace_back(index, std::move(block));
  open_.reset();
  open_capacity_ = 0;
  open_size_ = 0;
}

void Fill::append(std::string_view bytes,
                  std::vector<std::pair<uint32_t, storage::BlockRef>>* sealed_out) {
  if (bytes.empty()) return;
  std::vector<Waiter> woken;
  {
    std::lock_guard lock(mutex_);
    while (!bytes.empty()) {
      uint32_t room_in_block = block_size_ - open_size_;
      uint32_t take = static_cast<uint32_t>(std::min<size_t>(bytes.size(), room_in_block));
      if (open_size_ + take > open_capacity_) {
        // Grow into a new buffer: readers holding the old one keep valid (identical) bytes.
        uint64_t want = std::max<uint64_t>(open_capacity_ ? uint64_t{open_capacity_} * 2
                                                          : first_open_capacity,
                                           open_size_ + take);
        if (head_ && head_->size != storage::unknown_size) {
          // The origin said how long the body is: never allocate past its end.
          uint64_t block_start = received_ - open_size_;
          want = std::min<uint64_t>(want, std::max<uint64_t>(head_->size - block_start,
                                                             open_size_ + take));
        }
        uint32_t capacity = static_cast<uint32_t>(std::min<uint64_t>(want, block_size_));
        std::shared_ptr<char[]> grown(new char[capacity]);
        if (open_size_) std::memcpy(grown.get(), open_.get(), open_size_);
        open_ = std::move(grown);
        open_capacity_ = capacity;
      }
      std::memcpy(open_.get() + open_size_, bytes.data(), take);
      open_size_ += take;
      received_ += take;
      bytes.remove_prefix(take);
      if (open_size_ == block_size_) seal_open_block(sealed_out);
    }
    wake_all_locked(&woken);
  }
  wake(woken);
}

void Fill::finish(std::vector<std::pair<uint32_t, storage::BlockRef>>* sealed_out,
                  http::HeaderMap trailers) {
  std::vector<Waiter> woken;
  {
    std::lock_guard lock(mutex_);
    trailers_ = std::move(trailers);
    if (open_size_ > 0) seal_open_block(sealed_out);
    // A not_shared fill keeps its state: nobody else may read it.
    if (state_ == FillState::streaming || state_ == FillState::head_pending) {
      state_ = FillState::complete;
    }
    ended_ = true;
    wake_all_locked(&woken);
  }
  wake(woken);
}

void Fill::fail(int status, const char* detail) {
  std::vector<Waiter> woken;
  {
    std::lock_guard lock(mutex_);
    state_ = FillState::failed;
    failure_status_ = status;
    failure_detail_ = detail;
    ended_ = true;
    wake_all_locked(&woken);
  }
  wake(woken);
}

void Fill::set_revalidated(std::shared_ptr<const Revalidation> revalidation) {
  std::vector<Waiter> woken;
  {
    std::lock_guard lock(mutex_);
    revalidation_ = std::move(revalidation);
    state_ = FillState::revalidated;
    ended_ = true;
    wake_all_locked(&woken);
  }
  wake(woken);
}

size_t Fill::readers() const {
  std::lock_guard lock(mutex_);
  return readers_;
}

void Fill::attach() {
  std::lock_guard lock(mutex_);
  ++readers_;
}

void Fill::detach() {
  std::lock_guard lock(mutex_);
  --readers_;
}

runtime::Task<FillState> Fill::wait_head(runtime::Clock::duration timeout) {
  co_await WaitAwaiter(*this, 0, true, timeout);
  co_return state();
}

std::shared_ptr<const FillHead> Fill::head() const {
  std::lock_guard lock(mutex_);
  return head_;
}

std::shared_ptr<const Revalidation> Fill::revalidation() const {
  std::lock_guard lock(mutex_);
  return revalidation_;
}

FillState Fill::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

uint64_t Fill::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

http::HeaderMap Fill::trailers() const {
  std::lock_guard lock(mutex_);
  return trailers_;
}

int Fill::failure_status() const {
  std::lock_guard lock(mutex_);
  return failure_status_;
}

const char* Fill::failure_detail() const {
  std::lock_guard lock(mutex_);
  return failure_detail_;
}

bool Fill::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

runtime::Task<FillChunk> Fill::read(uint64_t offset, size_t max) {
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (state_ == FillState::failed) co_return FillChunk{};
      if (offset < received_) {
        uint64_t block = offset / block_size_;
        uint32_t within = static_cast<uint32_t>(offset % block_size_);
        if (block < sealed_.size()) {
          const storage::BlockRef& b = sealed_[block];
          if (!b) {
            FillChunk released;
            released.released = true;
            co_return released;
          }
          size_t n = std::min<size_t>(max, b->size - within);
          co_return FillChunk{std::string_view(b->data.get() + within, n), b};
        }
        size_t n = std::min<size_t>(max, open_size_ - within);
        co_return FillChunk{std::string_view(open_.get() + within, n), open_};
      }
      if (ended_) co_return FillChunk{};
    }
    co_await WaitAwaiter(*this, offset, false);
  }
}

}  // namespace stavka::cache
