quota "nowhere" {
  daily_credits = 5
}
