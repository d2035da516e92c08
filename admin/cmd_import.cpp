// mailstead import ADDRESS PATH: moves mail from another server into the store.
//
// Implementation notes
// - Streaming: one message is read at a time and stored in batches (kBatchMessages or
//   kBatchBytes, whichever comes first), each batch one transaction. Memory stays bounded by
//   the batch and the list of file names (one buffer), whatever the size of the source.
// - Resumable: every stored message is recorded in the import ledger in the same transaction,
//   under its source name (Maildir unique name, mbox offset). A second run skips what is
//   recorded, so an interrupted import simply runs again.
// - Maildir: the root goes to INBOX (or --mailbox), each Maildir++ folder ".A.B" to mailbox
//   A/B (created if missing); flags from the ":2," suffix, keywords from dovecot-keywords,
//   the internal date from the file's modification time. mbox: one mailbox, flags from
//   Status:/X-Status:, the internal date from the "From " line.

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <tuple>

#include "admin/command.hpp"
#include "admin/import_sources.hpp"
#include "admin/store_access.hpp"
#include "common/text/line_ends.hpp"
#include "storage/import_ledger.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

namespace mailstead::admin {
namespace {

namespace fs = std::filesystem;
using namespace storage;

constexpr std::size_t kBatchMessages = 500;
constexpr std::size_t kBatchBytes = 32 << 20;
constexpr std::size_t kReleaseEvery = 50;

struct Pending {
  std::string source_key;
  std::string bytes;
  AppendOptions options;
};

// One import: what it has done so far, and the server's limits for each message's structure.
struct Totals {
  std::uint64_t imported = 0;
  std::uint64_t skipped = 0;
  std::uint64_t mailboxes = 0;
  mime::Limits limits;
};

class Progress {
 public:
  Progress() : terminal_(isatty(STDERR_FILENO) != 0) {}
  void show(std::string_view mailbox, std::uint64_t done, std::uint64_t total) {
    if (!terminal_) return;
    auto now = std::chrono::steady_clock::now();
    if (done != total && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    fmt::print(stderr, "\r{}: {}/{}   ", mailbox, done, total);
    if (done == total) fmt::print(stderr, "\n");
  }

 private:
  bool terminal_;
  std::chrono::steady_clock::time_point last_{};
};

// Stores messages of one mailbox in batches, skipping those the ledger already knows.
class MailboxImporter {
 public:
  MailboxImporter(Store& store, Mailbox mailbox, Totals& totals)
      : store_(store), mailbox_(std::move(mailbox)), totals_(totals) {}

  bool seen(std::string_view source_key) {
    if (!imported_as(store_.read(), mailbox_.id, source_key)) return false;
    ++totals_.skipped;
    return true;
  }

  Result<void> add(Pending message) {
    batch_bytes_ += message.bytes.size();
    // Parsed before the batch's transaction, as the daemons do (storage/messages.hpp).
    batch_.push_back({std::move(message.source_key), prepare_message(std::move(message.bytes), totals_.limits),
                      std::move(message.options)});
    if (batch_.size() >= kBatchMessages || batch_bytes_ >= kBatchBytes) return flush();
    return {};
  }

  Result<void> flush() {
    if (batch_.empty()) return {};
    auto stored = store_.update([&](WriteTxn& t) -> Result<std::size_t> {
      std::size_t count = 0;
      for (const auto& p : batch_) {
        if (imported_as(t, mailbox_.id, p.source_key)) continue;
        auto message = append_message(t, mailbox_, p.message, p.options);
        if (!message) return message.error();
        record_import(t, mailbox_.id, p.source_key, message->uid);
        // Each insert lands at a random place of the content-hash B-tree, and every page
        // fault maps its neighbours too (fault-around): dropping the mapping now and then
        // keeps the resident set from growing with the store. The pages stay in the page
        // cache, and this transaction's own pages are in its dirty list, not in the map.
        if (++count % kReleaseEvery == 0) store_.release_memory();
      }
      return count;
    });
    if (!stored) return stored.error();
    store_.release_memory();
    totals_.imported += *stored;
    batch_.clear();
    batch_bytes_ = 0;
    return {};
  }

  const std::string& name() const { return mailbox_.name; }

 private:
  Store& store_;
  Mailbox mailbox_;
  Totals& totals_;
  struct Prepared {
    std::string source_key;
    PreparedMessage message;
    AppendOptions options;
  };
  std::vector<Prepared> batch_;
  std::size_t batch_bytes_ = 0;
};

Result<Mailbox> open_or_create(Store& store, UserId user, const std::string& name, Totals& totals) {
  if (auto existing = find_mailbox(store.read(), user, name)) return existing;
  ++totals.mailboxes;
  return store.update([&](WriteTxn& t) { return create_mailbox(t, user, name, SpecialUse::none, true); });
}

// The import reads as server.user (store_access drops to it), which may not be allowed in
// somebody's home: say so rather than import nothing.
Failure cannot_read(const std::string& path, int error) {
  return fail(Errc::io_error, fmt::format("cannot read {}: {}{}", path, std::generic_category().message(error),
                                          error == EACCES ? " (the import reads as the server's user)" : ""));
}

Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return cannot_read(path, error);
  }
  std::string bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) bytes.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    auto n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return cannot_read(path, error);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(got);
  return bytes;
}

// The message files of a Maildir folder (cur/ and new/) in delivery order. Migrated INBOXes
// of 200,000 messages are common, so the names share one buffer: a std::filesystem::path each
// costs about 400 bytes in libstdc++, which splits every path into its components.
class MaildirListing {
 public:
  struct Entry {
    std::string_view sub;
    std::string_view name;
    std::int64_t mtime;
  };

  // A missing new/ is an empty one; any other folder that cannot be read is an error.
  static Result<MaildirListing> read(const fs::path& folder) {
    MaildirListing listing;
    for (bool in_new : {false, true}) {
      auto path = folder / (in_new ? "new" : "cur");
      DIR* dir = ::opendir(path.c_str());
      int error = errno;
      if (!dir && error == ENOENT && in_new) continue;
      if (!dir) return cannot_read(path.string(), error);
      listing.add_entries(dir, in_new);
      ::closedir(dir);
    }
    listing.sort();
    return listing;
  }

  std::size_t size() const { return items_.size(); }
  Entry operator[](std::size_t i) const { return {items_[i].in_new ? "new" : "cur", name(items_[i]), items_[i].mtime}; }

 private:
  struct Item {
    std::int64_t mtime;
    std::uint32_t offset;
    std::uint32_t length;
    bool in_new;
  };

  void add_entries(DIR* dir, bool in_new) {
    while (const dirent* d = ::readdir(dir)) {
      std::string_view name = d->d_name;
      struct stat st {};
      if (name.starts_with('.') || ::fstatat(::dirfd(dir), d->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
      items_.push_back(
          {st.st_mtime, static_cast<std::uint32_t>(names_.size()), static_cast<std::uint32_t>(name.size()), in_new});
      names_.append(name);
    }
  }

  void sort() {
    std::sort(items_.begin(), items_.end(), [this](const Item& a, const Item& b) {
      return std::tuple(a.mtime, a.in_new, name(a)) < std::tuple(b.mtime, b.in_new, name(b));
    });
  }

  std::string_view name(const Item& i) const { return std::string_view(names_).substr(i.offset, i.length); }

  std::string names_;
  std::vector<Item> items_;
};

Result<void> import_maildir_folder(Store& store, UserId user, const fs::path& folder, const std::string& mailbox_name,
                                   Totals& totals, Progress& progress) {
  auto mailbox = open_or_create(store, user, mailbox_name, totals);
  if (!mailbox) return mailbox.error();
  std::map<char, std::string> letters;
  if (std::ifstream keywords(folder / "dovecot-keywords"); keywords) letters = parse_dovecot_keywords(keywords);
  auto listing = MaildirListing::read(folder);
  if (!listing) return listing.error();
  const auto& entries = *listing;
  MailboxImporter importer(store, *mailbox, totals);
  const std::string prefix = folder.string() + "/";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto e = entries[i];
    std::string key = "maildir:" + std::string(maildir_unique_name(e.name));
    progress.show(mailbox_name, i + 1, entries.size());
    if (importer.seen(key)) continue;
    auto flags = parse_maildir_flags(e.name, letters);
    auto file = read_file(fmt::format("{}{}/{}", prefix, e.sub, e.name));
    if (!file) return file.error();
    auto bytes = text::to_crlf(*file);
    if (bytes.empty()) continue;
    if (auto r = importer.add({std::move(key), std::move(bytes), {flags.flags, flags.keywords, e.mtime}}); !r) return r;
  }
  return importer.flush();
}

Result<void> import_maildir(Store& store, UserId user, const fs::path& root, const std::string& root_mailbox,
                            Totals& totals) {
  Progress progress;
  if (auto r = import_maildir_folder(store, user, root, root_mailbox, totals, progress); !r) return r;
  std::vector<std::pair<std::string, fs::path>> folders;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    auto name = maildir_folder_mailbox(it->path().filename().string(), store.options().hierarchy_separator);
    // A folder whose cur/ cannot even be looked at is listed, so that reading it says why.
    std::error_code cur_error;
    if (name && (fs::exists(it->path() / "cur", cur_error) || cur_error)) folders.emplace_back(*name, it->path());
  }
  if (ec) return cannot_read(root.string(), ec.value());
  std::sort(folders.begin(), folders.end());
  for (const auto& [name, path] : folders)
    if (auto r = import_maildir_folder(store, user, path, name, totals, progress); !r) return r;
  return {};
}

Result<void> import_mbox(Store& store, UserId user, const fs::path& file, const std::string& mailbox_name,
                         Totals& totals) {
  auto mailbox = open_or_create(store, user, mailbox_name, totals);
  if (!mailbox) return mailbox.error();
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Errc::io_error, fmt::format("cannot read {}", file.string()));
  auto total = fs::file_size(file);
  Progress progress;
  MboxReader reader(in);
  MailboxImporter importer(store, *mailbox, totals);
  MboxReader::Message message;
  auto absolute = fs::absolute(file).string();
  try {
    while (reader.next(message)) {
      progress.show(mailbox_name, std::min<std::uint64_t>(message.offset, total), total);
      std::string key = fmt::format("mbox:{}:{}", absolute, message.offset);
      if (importer.seen(key) || message.bytes.empty()) continue;
      if (auto r = importer.add({std::move(key), std::move(message.bytes), {message.flags, {}, message.date}}); !r)
        return r;
    }
  } catch (const std::runtime_error& e) {
    return fail(Errc::invalid_argument, fmt::format("{}: {}", file.string(), e.what()));
  }
  progress.show(mailbox_name, total, total);
  return importer.flush();
}

int import(const Invocation& inv) {
  fs::path source(inv.args[1]);
  std::error_code ec;
  auto status = fs::status(source, ec);
  if (ec || !fs::exists(status))
    return fmt::print(stderr, "mailstead: {} does not exist\n", source.string()), kExitFailure;
  bool maildir = fs::is_directory(status) && fs::is_directory(source / "cur");
  if (!maildir && !fs::is_regular_file(status))
    return fmt::print(stderr, "mailstead: {} is neither a Maildir (with cur/) nor an mbox file\n", source.string()),
           kExitFailure;
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto& store = *access->store;
  auto user = find_user(store.read(), inv.args[0]);
  if (!user) return report(user.error());
  std::string target(inv.value("--mailbox").value_or("INBOX"));
  Totals totals;
  totals.limits = access->config.limits.message;
  auto result = maildir ? import_maildir(store, user->id, source, target, totals)
                        : import_mbox(store, user->id, source, target, totals);
  if (inv.has("--json"))
    fmt::print(R"({{"imported":{},"skipped":{},"mailboxes_created":{},"complete":{}}})"
               "\n",
               totals.imported, totals.skipped, totals.mailboxes, result ? "true" : "false");
  else
    fmt::print("imported {} message{} into {} ({} already there, {} mailbox{} created)\n", totals.imported,
               totals.imported == 1 ? "" : "s", user->address, totals.skipped, totals.mailboxes,
               totals.mailboxes == 1 ? "" : "es");
  if (!result) {
    fmt::print(stderr, "mailstead: import stopped: {}; run it again to continue once that is fixed\n",
               result.error().detail);
    return kExitFailure;
  }
  return kExitOk;
}

const std::vector<Command> kCommands = {
    {{"import"},
     "ADDRESS PATH",
     "import a Maildir or an mbox file into a user's mailboxes",
     "PATH is a Maildir (with its Maildir++ folders, flags and Dovecot keywords) or an mbox\n"
     "file. Memory stays small whatever the size; progress is shown on a terminal. Run it again\n"
     "after an interruption: what was imported already is skipped, nothing is stored twice.",
     2,
     2,
     {{"--mailbox", true, "mailbox for an mbox file, or for the Maildir's root (default INBOX)"},
      {"--json", false, "print the totals as JSON"}},
     import},
};

}  // namespace

std::span<const Command> import_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
