# man: the three pages, installed from the source tree, and the tests that
# keep them lint-clean and in step with the options table.
dist_man_MANS += man/hakmem.3 man/hakmem.7 man/hakmem-config.1

TESTS += tests/man_lint.sh tests/doc_options.sh
EXTRA_DIST += tests/man_lint.sh tests/doc_options.sh
