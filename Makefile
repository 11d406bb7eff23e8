# Thin wrapper over CMake/ctest. `make run` and `make test` do all set-up on a fresh Debian 12.
JOBS      ?= $(shell nproc)
BUILD     ?= build
ASAN      ?= build-asan
FUZZBUILD ?= build-fuzz
FUZZ_SECONDS ?= 40
DATA      ?= ./runnel-data
CLUSTER_DIR ?= ./runnel-cluster
BROKERS   ?= 3

RUN_PKGS  = build-essential cmake ninja-build pkg-config librdkafka-dev libmicrohttpd-dev \
            libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libssl-dev libcmocka-dev \
            libcurl4-openssl-dev libjansson-dev
CLUSTER_PKGS = $(RUN_PKGS) etcd-server etcd-client
TEST_PKGS = $(RUN_PKGS) clang libclang-rt-14-dev kcat python3 python3-pytest python3-kafka \
            python3-confluent-kafka python3-snappy python3-lz4 python3-zstandard python3-pytest-xdist \
            golang-go golang-github-segmentio-kafka-go-dev etcd-server etcd-client openssl
BENCH_PKGS = $(TEST_PKGS) redis-server redis-tools fio iperf3 procps

.PHONY: all build run cluster deps-cluster test test-fast asan fuzz bench deps-run deps-test deps-bench gen clean format

all: build

define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

deps-run:
	$(call install_missing,$(RUN_PKGS))
deps-cluster:
	$(call install_missing,$(CLUSTER_PKGS))
deps-test:
	$(call install_missing,$(TEST_PKGS))
deps-bench:
	$(call install_missing,$(BENCH_PKGS))

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: deps-run build
	mkdir -p $(DATA)
	exec $(BUILD)/runnel serve --set log.dirs=$(DATA)

# A development cluster: etcd plus $(BROKERS) brokers on 127.0.0.1:9092.., data in $(CLUSTER_DIR).
cluster: deps-cluster build
	exec $(BUILD)/runnel dev cluster --brokers $(BROKERS) --dir $(CLUSTER_DIR)

# Everything: generated code up to date, gcc build + all tests, ASan/UBSan build + all tests,
# a bounded libFuzzer run of the request decoder.
test: deps-test gen-check build
	cd $(BUILD) && ctest --output-on-failure -j 2
	$(MAKE) asan
	$(MAKE) fuzz

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j 2

asan:
	CC=clang cmake -S . -B $(ASAN) -G Ninja -DRN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2

fuzz:
	CC=clang cmake -S . -B $(FUZZBUILD) -G Ninja -DRN_SANITIZE=ON -DRN_FUZZ=ON
	cmake --build $(FUZZBUILD) -j $(JOBS)
	@for f in $(FUZZBUILD)/fuzz_*; do \
		case $$f in *_replay) continue;; esac; \
		n=$$(basename $$f); mkdir -p $(FUZZBUILD)/corpus-$$n; \
		echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(FUZZBUILD)/corpus-$$n \
			tests/fuzz/corpus/$$n || exit 1; \
	done

gen:
	/usr/bin/python3 tools/gen_proto.py

gen-check:
	@if [ -f tools/gen_proto.py ]; then /usr/bin/python3 tools/gen_proto.py --check; fi

bench: deps-bench build
	bench/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZBUILD)
