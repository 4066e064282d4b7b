print("unterminated
