/** The demo room seeded on first start of the embedded default, and its users. */
export const DEMO_ROOM_ID = '00000000-0000-4000-8000-00000000d3e0';
export const DEMO_USERS = [
  { userId: 'dr.adams', name: 'Dr. Adams', role: 'host' },
  { userId: 'dr.baker', name: 'Dr. Baker', role: 'clinician' },
  { userId: 'dr.chen', name: 'Dr. Chen', role: 'specialist' },
  { userId: 'student.diaz', name: 'S. Diaz', role: 'observer' },
] as const;
