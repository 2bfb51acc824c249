# SPDX-License-Identifier: GPL-2.0
#
# make [KDIR=<Rust-enabled kernel build tree>]   build rvmm.ko (default: the running kernel's)
# make demo                                        boot the test kernel under Bochs, load rvmm, show exits
# make check                                       host unit tests and every selftest in the nested VM
# make bench                                       exit-path benchmark, native vs rvmm (bench/results.txt)

KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

demo:
	selftests/testbed/run demo

check:
	selftests/testbed/run test

bench:
	selftests/testbed/run bench

matrix:
	selftests/testbed/run matrix

.PHONY: all modules clean demo check bench matrix
