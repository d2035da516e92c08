#!/bin/sh
# Every C++ file of the tree is as the committed .clang-format lays it out. Prints what differs
# (clang-format's own warnings, file:line) and fails; `clang-format -i FILE` mends a file.
set -eu
cd "$1"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.cpp' '*.hpp' '*.h')
else  # a source tree without git (an unpacked .deb source, say)
  files=$(find common storage session smtpd pop3d imapd admin sendmail bench fuzz tests \
    -name '*.cpp' -o -name '*.hpp' -o -name '*.h')
fi
# shellcheck disable=SC2086 # one word per file: no file of the tree has a space in its name
clang-format --dry-run --Werror $files
echo "format: $(echo "$files" | wc -l) files as .clang-format says"
