#pragma once
// Answers kept for as long as their TTLs allow (RFC 1035 §3.2.1; negative answers RFC 2308 §5),
// shared by every resolver of a process, whatever thread asks: the checks of one message (SPF,
// DKIM, DMARC, reverse DNS, DNS lists) ask many of the same names that the previous message
// from the same sender asked. Bounded: at most `max_entries`, the oldest stored going first,
// and no answer kept longer than `max_ttl` whatever its TTL says. Temporary failures are not
// kept.

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/dns/answer.hpp"

namespace mailstead::dns {

class Cache {
 public:
  using Clock = std::chrono::steady_clock;

  Cache(std::size_t max_entries, std::chrono::seconds max_ttl) : max_entries_(max_entries), max_ttl_(max_ttl) {}

  std::optional<Answer> find(std::string_view name, Type type, Clock::time_point now = Clock::now());
  // Keeps `answer` for `ttl` seconds (capped); a ttl of 0 or a temporary answer is not kept.
  void store(std::string_view name, Type type, const Answer& answer, std::uint32_t ttl,
             Clock::time_point now = Clock::now());

  std::size_t size() const;
  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  struct Entry {
    Answer answer;
    Clock::time_point expires;
    std::list<std::string>::iterator order;
  };
  static std::string key(std::string_view name, Type type);

  const std::size_t max_entries_;
  const std::chrono::seconds max_ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // keys, oldest stored first
  std::uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace mailstead::dns
