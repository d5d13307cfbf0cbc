fn main() -> std::process::ExitCode {
    banter::cli::main()
}
