from imgscaffold.cli import main

main()
