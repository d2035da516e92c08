"""The layer checker finds each kind of forbidden include, and passes the real tree."""

import pathlib
import tempfile
import unittest

import check_layers

ROOT = pathlib.Path(__file__).resolve().parents[2]


class CheckLayers(unittest.TestCase):
    def tree(self, files):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        for path, text in files.items():
            file = pathlib.Path(directory.name, path)
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text)
        return list(check_layers.violations(directory.name))

    def assert_refused(self, path, include):
        found = self.tree({path: f'// a file\n#include "{include}"\n'})
        self.assertEqual(len(found), 1, found)
        self.assertTrue(found[0].startswith(f"{path}:2: includes {include}"), found)

    def test_the_tree_keeps_every_rule(self):
        self.assertEqual(list(check_layers.violations(ROOT)), [])

    def test_common_never_includes_storage_session_or_a_daemon(self):
        self.assert_refused("common/mime/mime.cpp", "storage/store.hpp")
        self.assert_refused("common/net/server.cpp", "session/daemon.hpp")
        self.assert_refused("common/log/log.cpp", "imapd/session.hpp")

    def test_the_base_library_has_no_sockets(self):
        self.assert_refused("common/io/line_reader.cpp", "common/net/connection.hpp")
        self.assert_refused("common/config/loader.cpp", "boost/asio/io_context.hpp")

    def test_storage_never_includes_a_daemon_or_the_session_layer(self):
        self.assert_refused("storage/store.cpp", "smtpd/session.hpp")
        self.assert_refused("storage/store.cpp", "session/services.hpp")

    def test_a_daemon_never_includes_another(self):
        self.assert_refused("pop3d/session.cpp", "imapd/watcher.hpp")
        self.assert_refused("imapd/session.cpp", "smtpd/proto/reply.hpp")

    def test_proto_is_pure_syntax(self):
        self.assert_refused("imapd/proto/search.hpp", "storage/messages.hpp")
        self.assert_refused("smtpd/proto/command.cpp", "boost/asio/awaitable.hpp")
        self.assert_refused("pop3d/proto/command.cpp", "openssl/ssl.h")
        self.assert_refused("imapd/proto/response.cpp", "imapd/session_impl.hpp")

    def test_only_storage_sees_lmdb(self):
        self.assert_refused("imapd/session.cpp", "lmdb.h")
        self.assert_refused("admin/cmd_queue.cpp", "storage/detail/lmdb.hpp")
        self.assert_refused("tests/unit/store_test.cpp", "storage/detail/lmdb.hpp")
        self.assert_refused("tests/tools/storage_torture.cpp", "lmdb.h")
        self.assertEqual(self.tree({"storage/store.cpp": "#include <lmdb.h>\n"}), [])

    def test_allowed_includes_pass(self):
        files = {
            "imapd/session.cpp": '#include "storage/messages.hpp"\n#include "session/commit.hpp"\n#include <vector>\n',
            "imapd/proto/search.cpp": '#include "common/mime/mime.hpp"\n#include "imapd/proto/search.hpp"\n',
            "tests/unit/store_test.cpp": '#include "storage/detail/codec.hpp"\n#include "storage/testing.hpp"\n',
        }
        self.assertEqual(self.tree(files), [])


if __name__ == "__main__":
    unittest.main()
