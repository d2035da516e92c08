#pragma once
// Line ends of stored mail. Every message in the store ends its lines in CRLF (RFC 5322
// §2.1), whatever way it arrived, so that the sizes POP3 and IMAP announce are the octets they
// send, and no protocol has to convert on the way out. Pure functions.

#include <string>
#include <string_view>

namespace mailstead::text {

// True when every CR is followed by LF and every LF preceded by CR.
bool has_only_crlf(std::string_view bytes);
// The bytes with every bare LF, bare CR and CRLF written as CRLF.
std::string to_crlf(std::string_view bytes);

}  // namespace mailstead::text
