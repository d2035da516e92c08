#pragma once
// One SMTP connection of mailstead-smtpd (RFC 5321, with PIPELINING, SIZE, 8BITMIME,
// SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS, AUTH PLAIN/LOGIN, DSN parameters).

#include <functional>
#include <memory>
#include <vector>

#include "common/config/cidr.hpp"
#include "common/config/config.hpp"
#include "common/dns/resolver.hpp"
#include "common/net/connection.hpp"
#include "session/services.hpp"
#include "smtpd/dkim_signing.hpp"

namespace mailstead::smtp {

enum class Port {
  mx,           // 25: mail for local domains; relaying only for trusted networks or AUTH
  submission,   // 587: AUTH required (after STARTTLS) before MAIL
  submissions,  // 465: the same over implicit TLS
  local,        // the Unix-domain socket of `sendmail`: programs on this machine, trusted like
                // an authenticated user but with any sender, traced by uid; no TLS, no AUTH
};

struct SmtpContext {
  session::Services services;
  std::vector<config::Cidr> trusted_networks;
  std::function<void()> queued;              // mail for other domains was queued: wake the queue runner
  std::shared_ptr<const DkimSigning> dkim;   // null: nothing is signed
  std::shared_ptr<dns::SharedResolver> dns;  // null: no check that needs DNS is made
  std::string srs_secret;                    // the store's; empty: no sender rewriting
};

net::awaitable<void> serve_smtp(net::Connection& connection, const SmtpContext& context, Port port);

}  // namespace mailstead::smtp
