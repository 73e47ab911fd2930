# Rules for the XDP fast path: loader library and tests (included by the top Makefile).
