# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# riposte enforcer build, included from the Makefile (which defines OUTPUT,
# CLANG, BPFTOOL, CC and the flags, and generates vmlinux.h):
# clang -target bpf -> bpftool gen object -> bpftool gen skeleton -> loader.

.PHONY: enforcer check-enforcer
all: $(OUTPUT)/riposte-enforcer
enforcer: $(OUTPUT)/riposte-enforcer

$(OUTPUT)/enforcer.tmp.bpf.o: enforcer.bpf.c enforcer.h $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/enforcer.bpf.o: $(OUTPUT)/enforcer.tmp.bpf.o
	$(BPFTOOL) gen object $@ $<

$(OUTPUT)/enforcer.skel.h: $(OUTPUT)/enforcer.bpf.o
	$(BPFTOOL) gen skeleton $< name enforcer_bpf > $@.tmp && mv $@.tmp $@

$(OUTPUT)/enforcer.o: enforcer.c enforcer.h loader_io.h $(OUTPUT)/enforcer.skel.h
	$(CC) $(CFLAGS) -I$(OUTPUT) -I. $(LIBBPF_CFLAGS) -c $< -o $@

$(OUTPUT)/riposte-enforcer: $(OUTPUT)/enforcer.o
	$(CC) $(CFLAGS) $^ $(LIBBPF_LIBS) -lelf -lz -o $@

# can this kernel load the enforcer (cgroup skb + bpf lsm)?
check-enforcer: $(OUTPUT)/riposte-enforcer
	$(OUTPUT)/riposte-enforcer --check
