#include "common/net/connection_limiter.hpp"

#include <fmt/format.h>

#include <chrono>

namespace mailstead::net {

std::string ConnectionLimiter::client_key(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_string();
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

std::string_view to_string(Refusal refusal) {
  switch (refusal) {
    case Refusal::too_many_connections:
      return "too_many_connections";
    case Refusal::too_many_from_client:
      return "too_many_from_client";
    case Refusal::too_fast_from_client:
      return "too_fast_from_client";
  }
  return "?";
}

constexpr std::int64_t kRateWindow = 60;

bool ConnectionLimiter::over_rate(const std::string& client, std::int64_t now) {
  if (max_rate_ == 0) return false;
  if (rates_.size() > 100000) {  // forget clients whose window has passed, so the map stays small
    std::erase_if(rates_, [&](const auto& entry) { return now - entry.second.window_start >= kRateWindow; });
  }
  auto& rate = rates_[client];
  if (rate.count == 0 || now - rate.window_start >= kRateWindow) rate = Rate{now, 0};
  return ++rate.count > max_rate_;
}

std::variant<ConnectionLimiter::Permit, Refusal> ConnectionLimiter::try_admit(const asio::ip::address& address) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch());
  return try_admit(address, now.count());
}

std::variant<ConnectionLimiter::Permit, Refusal> ConnectionLimiter::try_admit(const asio::ip::address& address,
                                                                              std::int64_t now) {
  return admit(client_key(address), now, true);
}

std::variant<ConnectionLimiter::Permit, Refusal> ConnectionLimiter::try_admit_local(unsigned uid) {
  return admit(fmt::format("local uid {}", uid), 0, false);
}

std::variant<ConnectionLimiter::Permit, Refusal> ConnectionLimiter::admit(std::string key, std::int64_t now,
                                                                          bool limit_rate) {
  std::lock_guard lock(mutex_);
  if (max_total_ != 0 && total_ >= max_total_) return Refusal::too_many_connections;
  if (limit_rate && over_rate(key, now)) return Refusal::too_fast_from_client;
  auto& count = per_client_[key];
  if (max_per_client_ != 0 && count >= max_per_client_) {
    if (count == 0) per_client_.erase(key);
    return Refusal::too_many_from_client;
  }
  ++count;
  ++total_;
  return Permit(shared_from_this(), std::move(key));
}

unsigned ConnectionLimiter::active() const {
  std::lock_guard lock(mutex_);
  return total_;
}

void ConnectionLimiter::release(const std::string& client) {
  std::lock_guard lock(mutex_);
  auto it = per_client_.find(client);
  if (it == per_client_.end()) return;
  if (--it->second == 0) per_client_.erase(it);
  --total_;
}

ConnectionLimiter::Permit::~Permit() {
  if (owner_) owner_->release(client_);
}

}  // namespace mailstead::net
