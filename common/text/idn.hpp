#pragma once
// Internationalised domain names (IDNA2008 with UTS #46 non-transitional mapping, through
// libidn2): the one form domains compare in, and the form DNS asks for. Pure functions.
//
// A domain arrives as U-labels ("bücher.example", SMTPUTF8) or A-labels
// ("xn--bcher-kva.example"), in any case; both name the same domain, so a local domain must
// match either way (otherwise mail for it would be relayed, or refused, by its other name).

#include <optional>
#include <string>
#include <string_view>

namespace mailstead::text {

// True when the domain needs IDNA processing: a byte above 127 or a label starting "xn--".
bool is_idn(std::string_view domain);

// The comparison form: U-labels, NFC, lower-case ("bücher.example"); ASCII labels lower-case.
// nullopt when the name is not a valid IDN (a bad A-label, a disallowed code point).
std::optional<std::string> domain_to_unicode(std::string_view domain);

// The DNS form: A-labels ("xn--bcher-kva.example"); nullopt when not a valid IDN.
std::optional<std::string> domain_to_ascii(std::string_view domain);

}  // namespace mailstead::text
