from vaebench.cli import main

main()
