print("ringtail")
