#pragma once
// IMAP sequence sets (RFC 9051 §9 "sequence-set"): "1,3:5,7:*", over message sequence numbers
// or UIDs. "*" stands for the largest number in use and is resolved only against a mailbox;
// "$" (RFC 5182 SEARCHRES) is the result of the last SEARCH ... RETURN (SAVE).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailstead::imap {

// A range as written; 0 stands for "*" (no real number is 0). first may exceed last.
struct SeqRange {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  friend bool operator==(const SeqRange&, const SeqRange&) = default;
};

struct SequenceSet {
  std::vector<SeqRange> ranges;
  bool saved = false;  // "$"
  friend bool operator==(const SequenceSet&, const SequenceSet&) = default;
};

// Parses a whole sequence-set; nullopt if `text` is not one.
std::optional<SequenceSet> parse_sequence_set(std::string_view text);

// The numbers of `set` that lie in 1..largest, ascending and unique, with "*" as `largest`
// (with largest == 0 nothing matches, not even "*"). For UID sets the caller then keeps the
// UIDs that exist.
struct Interval {
  std::uint32_t low = 0;
  std::uint32_t high = 0;
  friend bool operator==(const Interval&, const Interval&) = default;
};
std::vector<Interval> resolve(const SequenceSet& set, std::uint32_t largest);
bool contains(const std::vector<Interval>& intervals, std::uint32_t n);
// True if a number of `set` (other than "*") is above `largest`: for sequence numbers, a
// request for a message that does not exist (RFC 9051 §6.4.4: tagged BAD).
bool exceeds(const SequenceSet& set, std::uint32_t largest);

// The compact form of unique numbers: "1:3,7" (for COPYUID, APPENDUID, ESEARCH). Their order
// is kept, and only runs that go up by one become ranges, so ESORT's sort order survives
// (RFC 5267 §3.2).
std::string format_set(const std::vector<std::uint32_t>& ascending);

// The numbers of 1..largest that `present` (ascending) lacks and `within` (resolve()'s form)
// holds, in resolve()'s form: what QRESYNC reports vanished when the change log is trimmed.
std::vector<Interval> missing_within(const std::vector<std::uint32_t>& present, std::uint32_t largest,
                                     const std::vector<Interval>& within);
std::string format_intervals(const std::vector<Interval>& intervals);  // "1:3,7"

}  // namespace mailstead::imap
