const char *greet_target(void);
int count_words(const char *s);
