#pragma once
// SEARCH criteria (RFC 9051 §6.4.4) as a tree, parsed from the command. Evaluation is in
// search.hpp.

#include <cstdint>
#include <string>
#include <vector>

#include "imapd/proto/sequence.hpp"

namespace mailstead::imap {

struct SearchKey {
  enum class Kind {
    all,
    and_,
    or_,
    not_,
    flag_set,
    flag_unset,  // ANSWERED, DELETED, ... / UNANSWERED, ...
    keyword,
    unkeyword,
    recent,
    new_,
    old,
    before,
    on,
    since,  // internal date, day granularity
    sent_before,
    sent_on,
    sent_since,  // Date: header
    larger,
    smaller,
    header,  // also FROM, TO, CC, BCC, SUBJECT
    body,
    text,
    sequence,
    uid,
    modseq,
    email_id,   // RFC 8474 §6: EMAILID objectid
    thread_id,  // THREADID objectid (storage/detail/threads.hpp)
    saved_before,
    saved_on,
    saved_since,           // RFC 8514 §4.3: save date, day granularity
    saved_date_supported,  // every mailbox here keeps save dates: matches every message
  };
  Kind kind = Kind::all;
  std::uint32_t flag = 0;           // flag_set / flag_unset
  std::string field;                // header: the field name
  bool addresses = false;           // FROM, TO, CC, BCC: the field also read as an address list
  std::string value;                // keyword, header/body/text substring
  std::int64_t day = 0;             // dates: days since the epoch
  std::uint64_t number = 0;         // larger / smaller / modseq
  SequenceSet set;                  // sequence / uid
  std::vector<Interval> resolved;   // set, resolved by prepare_search()
  std::vector<SearchKey> children;  // and_ (a list), or_ (two), not_ (one)
};

struct SearchRequest {
  // ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and CONTEXT (RFC 5267 §4: CONTEXT is a hint this
  // server takes as nothing more; UPDATE keeps the result up to date; PARTIAL a window of it).
  enum Return : unsigned {
    kMin = 1,
    kMax = 2,
    kAll = 4,
    kCount = 8,
    kSave = 16,
    kContext = 32,
    kUpdate = 64,
    kPartial = 128
  };
  bool extended = false;  // RETURN (...) given: answer with ESEARCH
  unsigned returns = 0;
  std::uint32_t partial_first = 0, partial_last = 0;  // PARTIAL first:last, first <= last, from 1
  std::string charset;                                // empty: US-ASCII / UTF-8
  SearchKey key;                                      // an and_ of the criteria
};

}  // namespace mailstead::imap
