/work/main/build/lib/../obj/tg_optim.o: torch/shim/tg_optim.cc \
 /usr/include/torch/csrc/api/include/torch/optim/adamw.h \
 /usr/include/torch/csrc/api/include/torch/nn/module.h \
 /usr/include/torch/csrc/api/include/torch/nn/modules/container/any_module_holder.h \
 /usr/include/torch/csrc/api/include/torch/nn/modules/container/any_value.h \
 /usr/include/torch/csrc/api/include/torch/detail/static.h \
 /usr/include/torch/csrc/api/include/torch/types.h \
 /usr/include/torch/csrc/api/include/torch/nn/pimpl.h \
 /usr/include/torch/csrc/api/include/torch/arg.h \
 /usr/include/torch/csrc/api/include/torch/serialize/archive.h \
 /usr/include/torch/csrc/api/include/torch/serialize/input-archive.h \
 /usr/include/torch/csrc/api/include/torch/serialize/output-archive.h \
 /usr/include/torch/csrc/api/include/torch/optim/optimizer.h \
 /usr/include/torch/csrc/api/include/torch/optim/serialize.h \
 /usr/include/torch/csrc/api/include/torch/optim/sgd.h \
 torch/shim/tg_internal.h \
 /usr/include/torch/csrc/api/include/torch/version.h torch/shim/../tg.h
/usr/include/torch/csrc/api/include/torch/optim/adamw.h:
/usr/include/torch/csrc/api/include/torch/nn/module.h:
/usr/include/torch/csrc/api/include/torch/nn/modules/container/any_module_holder.h:
/usr/include/torch/csrc/api/include/torch/nn/modules/container/any_value.h:
/usr/include/torch/csrc/api/include/torch/detail/static.h:
/usr/include/torch/csrc/api/include/torch/types.h:
/usr/include/torch/csrc/api/include/torch/nn/pimpl.h:
/usr/include/torch/csrc/api/include/torch/arg.h:
/usr/include/torch/csrc/api/include/torch/serialize/archive.h:
/usr/include/torch/csrc/api/include/torch/serialize/input-archive.h:
/usr/include/torch/csrc/api/include/torch/serialize/output-archive.h:
/usr/include/torch/csrc/api/include/torch/optim/optimizer.h:
/usr/include/torch/csrc/api/include/torch/optim/serialize.h:
/usr/include/torch/csrc/api/include/torch/optim/sgd.h:
torch/shim/tg_internal.h:
/usr/include/torch/csrc/api/include/torch/version.h:
torch/shim/../tg.h:
