#include "pop3d/proto/maildrop.hpp"

#include <fmt/format.h>

namespace mailstead::pop3 {

Maildrop::Maildrop(std::uint32_t uid_validity, std::vector<MaildropEntry> entries)
    : uid_validity_(uid_validity), entries_(std::move(entries)) {
  reset();
}

Lookup Maildrop::lookup(std::uint32_t number) const {
  if (number == 0 || number > entries_.size()) return Lookup::no_such_message;
  return entries_[number - 1].deleted ? Lookup::deleted : Lookup::ok;
}

std::string Maildrop::unique_id(std::uint32_t number) const {
  return fmt::format("{:08X}{:08X}", entries_[number - 1].uid, uid_validity_);
}

Lookup Maildrop::mark_deleted(std::uint32_t number) {
  auto found = lookup(number);
  if (found != Lookup::ok) return found;
  auto& e = entries_[number - 1];
  e.deleted = true;
  live_messages_ -= 1;
  live_octets_ -= e.size;
  return Lookup::ok;
}

void Maildrop::reset() {
  live_messages_ = 0;
  live_octets_ = 0;
  for (auto& e : entries_) {
    e.deleted = false;
    live_messages_ += 1;
    live_octets_ += e.size;
  }
}

std::vector<std::uint32_t> Maildrop::deleted_uids() const {
  std::vector<std::uint32_t> out;
  for (const auto& e : entries_)
    if (e.deleted) out.push_back(e.uid);
  return out;
}

std::vector<std::uint32_t> Maildrop::retrieved_uids() const {
  std::vector<std::uint32_t> out;
  for (const auto& e : entries_)
    if (e.retrieved && !e.deleted) out.push_back(e.uid);
  return out;
}

}  // namespace mailstead::pop3
