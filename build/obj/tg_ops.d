/work/main/build/lib/../obj/tg_ops.o: torch/shim/tg_ops.cc \
 torch/shim/tg_internal.h \
 /usr/include/torch/csrc/api/include/torch/version.h torch/shim/../tg.h
torch/shim/tg_internal.h:
/usr/include/torch/csrc/api/include/torch/version.h:
torch/shim/../tg.h:
