fn main() -> std::process::ExitCode {
    daemon::main()
}
