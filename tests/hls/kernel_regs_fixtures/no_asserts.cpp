// Fixture of ctest kernel_regs_check_rejects: the C++ test without the static_asserts the checker
// asks for (bad.yaml's named extent and struct stream are then unchecked, and reported).
