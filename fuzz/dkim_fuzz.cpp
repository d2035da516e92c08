// libFuzzer target: DKIM canonicalisation over any bytes. Relaxed body canonicalisation leaves
// no whitespace at a line's end and no run of it, ends in CRLF when not empty, and honours a
// length limit; header fields are cut from their input; removing b= never adds bytes; signature
// fields and key records from strangers are read and verified within bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/dkim/canon.hpp"
#include "common/dkim/signer.hpp"
#include "common/dkim/verifier.hpp"

using namespace mailstead::dkim;

// An Ed25519 public key (RFC 8463 A.2's) for the verification step.
static const std::string kFuzzKey = [] {
  std::string k;
  const unsigned char bytes[] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
                                 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
                                 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
  k.assign(reinterpret_cast<const char*>(bytes), sizeof bytes);
  return k;
}();

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string relaxed;
  auto total = canonical_body(bytes, Canon::relaxed, [&](std::string_view p) { relaxed += p; });
  if (total != relaxed.size()) std::abort();
  if (!relaxed.empty() && !relaxed.ends_with("\r\n")) std::abort();
  if (relaxed.find("  ") != std::string::npos || relaxed.find(" \r\n") != std::string::npos ||
      relaxed.find('\t') != std::string::npos || relaxed.ends_with("\r\n\r\n"))
    std::abort();
  std::string cut;
  canonical_body(
      bytes, Canon::relaxed, [&](std::string_view p) { cut += p; }, size / 3);
  if (cut != relaxed.substr(0, size / 3)) std::abort();
  std::string simple;
  canonical_body(bytes, Canon::simple, [&](std::string_view p) { simple += p; });
  if (simple.empty() || !simple.ends_with("\r\n")) std::abort();
  for (const auto& field : split_fields(bytes)) {
    if (field.raw.data() < bytes.data() || field.raw.data() + field.raw.size() > bytes.data() + bytes.size())
      std::abort();
    auto relaxed_field = canonical_field(field, Canon::relaxed);
    if (!relaxed_field.ends_with("\r\n") || relaxed_field.find(':') == std::string::npos) std::abort();
    if (without_b_value(field.raw).size() > field.raw.size()) std::abort();
  }
  // Verification: any tag list, signature field or key record is read without harm, and a
  // message whose first field is a readable signature is verified to a verdict (never pass:
  // nothing here holds the key that would sign it).
  (void)parse_tags(bytes);
  (void)parse_key_record(bytes);
  Message message(bytes);
  if (!message.fields.empty()) {
    auto sig = parse_signature(message.fields[0].raw);
    if (auto* parsed = std::get_if<Signature>(&sig)) {
      if (parsed->headers.size() > kMaxSignedFields) std::abort();
      KeyRecord key{parsed->algorithm, kFuzzKey, false, false};
      if (verify(message, 0, *parsed, key, 0).result == Result::pass) std::abort();
    }
  }
  return 0;
}
