from ghsim.server import main

main()
