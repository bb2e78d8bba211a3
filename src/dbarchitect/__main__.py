from dbarchitect.cli import main

main()
