from tokctl.cli import main

main()
