"""web/dashboard"""
