#pragma once
// What a lookup comes back with, for the outbound queue (MX, addresses) and for the checks of
// inbound mail (TXT, PTR, A/AAAA): the records of the type asked, or why there are none.

#include <cstdint>
#include <string>
#include <vector>

#include "common/dns/message.hpp"

namespace mailstead::dns {

enum class Status {
  ok,
  no_data,    // the name exists but has no record of the type asked for
  nxdomain,   // the name does not exist
  temporary,  // SERVFAIL, refused, timeout, no server reachable, a malformed answer
};
std::string_view to_string(Status status);

// Records of the type asked, after the CNAMEs that led to them.
struct Answer {
  Status status = Status::temporary;
  std::vector<Record> records;
  std::string error;  // for logs and the queue's last error
};

struct MxRecord {
  std::uint16_t preference = 0;
  std::string host;  // without a trailing dot; "" for the null MX "."
};

struct MxAnswer {
  Status status = Status::temporary;
  std::vector<MxRecord> records;
  std::string error;
};

// What a response says about a question (`name`, `type`): the records of that type at the end
// of the CNAME chain from `name`, and for how long the answer may be kept (the least TTL along
// the chain; for a negative answer, the SOA's). `next` is set when the chain leaves the
// response: the name to ask next.
struct Reading {
  Answer answer;
  std::uint32_t ttl = 0;
  std::string next;
};
Reading read_answer(const Response& response, std::string_view name, Type type, unsigned max_cnames);

}  // namespace mailstead::dns
