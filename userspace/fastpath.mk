# Rules for the fast-path userspace programs (included by the top Makefile).
UNIT_LIBS ?=
