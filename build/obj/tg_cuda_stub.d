/work/main/build/lib/../obj/tg_cuda_stub.o: torch/shim/tg_cuda_stub.cc \
 torch/shim/tg_internal.h \
 /usr/include/torch/csrc/api/include/torch/version.h torch/shim/../tg.h
torch/shim/tg_internal.h:
/usr/include/torch/csrc/api/include/torch/version.h:
torch/shim/../tg.h:
