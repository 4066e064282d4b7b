os.exit(5)
