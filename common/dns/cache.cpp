#include "common/dns/cache.hpp"

#include <fmt/format.h>

#include "common/text/ascii.hpp"

namespace mailstead::dns {

std::string_view to_string(Status status) {
  switch (status) {
    case Status::ok:
      return "ok";
    case Status::no_data:
      return "no data";
    case Status::nxdomain:
      return "no such domain";
    case Status::temporary:
      return "temporary failure";
  }
  return "?";
}

std::string Cache::key(std::string_view name, Type type) {
  auto lower = text::lower_ascii(name);
  if (!lower.empty() && lower.back() == '.') lower.pop_back();
  return fmt::format("{}/{}", static_cast<unsigned>(type), lower);
}

std::optional<Answer> Cache::find(std::string_view name, Type type, Clock::time_point now) {
  auto k = key(name, type);
  std::lock_guard lock(mutex_);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    ++misses_;
    return std::nullopt;
  }
  if (it->second.expires <= now) {
    order_.erase(it->second.order);
    entries_.erase(it);
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  return it->second.answer;
}

void Cache::store(std::string_view name, Type type, const Answer& answer, std::uint32_t ttl, Clock::time_point now) {
  if (answer.status == Status::temporary || ttl == 0 || max_entries_ == 0) return;
  auto lifetime = std::min<std::chrono::seconds>(std::chrono::seconds(ttl), max_ttl_);
  auto k = key(name, type);
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(k); it != entries_.end()) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }
  while (entries_.size() >= max_entries_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(k);
  entries_.emplace(std::move(k), Entry{answer, now + lifetime, std::prev(order_.end())});
}

std::size_t Cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}
std::uint64_t Cache::hits() const {
  std::lock_guard lock(mutex_);
  return hits_;
}
std::uint64_t Cache::misses() const {
  std::lock_guard lock(mutex_);
  return misses_;
}

}  // namespace mailstead::dns
