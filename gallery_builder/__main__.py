from gallery_builder.cli import main

main()
