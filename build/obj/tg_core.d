/work/main/build/lib/../obj/tg_core.o: torch/shim/tg_core.cc \
 /usr/include/torch/csrc/api/include/torch/cuda.h \
 torch/shim/tg_internal.h \
 /usr/include/torch/csrc/api/include/torch/version.h torch/shim/../tg.h
/usr/include/torch/csrc/api/include/torch/cuda.h:
torch/shim/tg_internal.h:
/usr/include/torch/csrc/api/include/torch/version.h:
torch/shim/../tg.h:
