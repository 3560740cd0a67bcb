// The Ringtail facade (filled in below).
