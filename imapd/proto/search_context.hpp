#pragma once
// A search or sort result kept up to date for the client (RFC 5267 §4.3, RETURN (UPDATE)):
// the result in the requested order, and the ADDTO and REMOVEFROM return data that tell the
// client of each change. Pure: the session decides which messages joined or left the result
// and how two messages sort; this keeps the order and words the changes. PARTIAL (§4.4) is a
// window of a result, also worded here.
//
// SEARCH results are in mailbox order and their changes carry context position 0 (§4.3.3:
// "the client MAY insert ... such that the result list is maintained in mailbox order"); SORT
// results carry the position of each change, applied in the order given (§4.3.2).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mailstead::imap {

class UpdatingResult {
 public:
  using Uid = std::uint32_t;
  // What the client is told for a message: its UID, or its message sequence number.
  using Number = std::function<std::uint32_t(Uid)>;
  // Whether `a` comes before `b` in the requested order (sorted results only; a total order).
  using Before = std::function<bool(Uid a, Uid b)>;

  // `results`: UIDs in the requested order, ascending for a SEARCH (`sorted` false).
  UpdatingResult(std::vector<Uid> results, bool sorted);

  bool contains(Uid uid) const;
  std::size_t size() const { return order_.size(); }
  const std::vector<Uid>& order() const { return order_; }

  // Takes those of `gone` (ascending) that are in the result out of it; returns the
  // REMOVEFROM data item (" REMOVEFROM (...)", with its leading space), or "" if none was.
  std::string remove(const std::vector<Uid>& gone, const Number& number);
  // Puts `joined` (ascending, none already in the result) into it; returns the ADDTO data
  // item, or "" if `joined` is empty.
  std::string add(const std::vector<Uid>& joined, const Before& before, const Number& number);

 private:
  std::vector<Uid> order_;    // the requested order
  std::vector<Uid> members_;  // ascending (sorted results; a SEARCH's order_ is already)
  bool sorted_;
};

// RFC 5267 §4.4: " PARTIAL (first:last set)" of the results first..last (from 1, in the
// requested order), "NIL" for the set when none are there.
std::string partial_data(const std::vector<std::uint32_t>& results, std::uint32_t first, std::uint32_t last);

}  // namespace mailstead::imap
